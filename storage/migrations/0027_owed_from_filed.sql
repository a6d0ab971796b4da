-- A report filed before 0026 for a month 0026 left unowed (立项 after its deadline; the code
-- then asked for it anyway) keeps counting: such a project owes from its first month filed.
UPDATE projects SET owed_from = (
    SELECT min(r.period) FROM reports r WHERE r.project_id = projects.id AND r.version > 0
) WHERE owed_from > (
    SELECT min(r.period) FROM reports r WHERE r.project_id = projects.id AND r.version > 0
);
