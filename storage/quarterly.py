"""SQL for 季度互比: whether a scope had projects in a quarter, and where they stood at its end."""

from __future__ import annotations

from collections.abc import Sequence

from storage.rows import Reader, one
from storage.summary import ran_in

_SUBTREE = (
    "(WITH RECURSIVE sub(id) AS (SELECT :root UNION SELECT o.id FROM orgs o "
    "JOIN sub ON o.parent_id = sub.id) SELECT id FROM sub)"
)


async def has_projects(conn: Reader, months: Sequence[str], root_org_id: int | None) -> bool:
    """Whether a project of the scope ran (`ran_in`) in any of the (consecutive) months."""
    params: dict[str, object] = {f"m{i}": m for i, m in enumerate(months)}
    ran = " OR ".join(ran_in(f":m{i}") for i in range(len(months)))
    sql = (
        f"SELECT 1 FROM projects p WHERE ({ran}) "
        f"AND p.start_month <= :m{len(months) - 1} AND p.end_month >= :m0"
    )
    if root_org_id is not None:
        sql += f" AND p.org_id IN {_SUBTREE}"
        params["root"] = root_org_id
    return await one(conn, sql + " LIMIT 1", params) is not None


async def latest_completions(
    conn: Reader, first: str, last: str, root_org_id: int | None
) -> dict[int, int]:
    """{project id: completion of its latest report filed for a month up to `last`} of the
    scope's projects whose span touches first..last (completion is cumulative: a project
    silent in the quarter's last months stands where its last report put it)."""
    params: dict[str, object] = {"first": first, "last": last}
    scope = ""
    if root_org_id is not None:
        scope = f" AND p.org_id IN {_SUBTREE}"
        params["root"] = root_org_id
    rows = await conn.execute_fetchall(
        "WITH latest(project_id, period) AS (SELECT r.project_id, max(r.period) FROM reports r "
        "JOIN projects p ON p.id = r.project_id WHERE r.version > 0 AND r.period <= :last "
        f"AND p.start_month <= :last AND p.end_month >= :first{scope} GROUP BY r.project_id) "
        "SELECT l.project_id, v.completion FROM latest l "
        "JOIN reports r ON r.project_id = l.project_id AND r.period = l.period "
        "JOIN report_versions v ON v.report_id = r.id AND v.version = r.version",
        params,
    )
    return {r[0]: r[1] for r in rows}


async def terminated_by(conn: Reader, last: str) -> set[int]:
    """Ids of the projects terminated (终止) that no longer ran in the month `last` (not
    `ran_in` it: terminated by then, and owing no report for it)."""
    rows = await conn.execute_fetchall(
        f"SELECT p.id FROM projects p WHERE p.status = 'terminated' AND NOT {ran_in(':last')}",
        {"last": last},
    )
    return {r[0] for r in rows}
