"""SQL for 季度互比: whether a scope had projects in a quarter."""

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
