"""SQL for 季度互比: whether a scope had projects in a quarter."""

from __future__ import annotations

from storage.rows import Reader, one

_SUBTREE = (
    "(WITH RECURSIVE sub(id) AS (SELECT ? UNION SELECT o.id FROM orgs o "
    "JOIN sub ON o.parent_id = sub.id) SELECT id FROM sub)"
)


async def has_projects(conn: Reader, first: str, last: str, root_org_id: int | None) -> bool:
    """Whether an approved (or later) project of the scope ran in months first..last."""
    sql = (
        "SELECT 1 FROM projects WHERE status IN ('approved', 'concluded', 'accepted') "
        "AND start_month <= ? AND end_month >= ?"
    )
    params: list[object] = [last, first]
    if root_org_id is not None:
        sql += f" AND org_id IN {_SUBTREE}"
        params.append(root_org_id)
    return await one(conn, sql + " LIMIT 1", params) is not None
