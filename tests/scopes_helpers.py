"""Shared steps for the 分级管理 tests: towns with communities, and their admins."""

from __future__ import annotations

import re

from storage import orgs
from storage.rows import ts
from tests.conftest import ADMIN_ID
from tests.standin.dialogue import Bench, TgUser

LINK = re.compile(r"start=([A-Za-z0-9_-]{16})")
# Communities under two of the sample 街道党工委 (the sample file stops at that level).
COMMUNITIES = [
    ("WH0101", "钱局街社区党委", "WH01"),
    ("WH0102", "文庙社区党委", "WH01"),
    ("WH0201", "篆塘社区党委", "WH02"),
]
TOWN_A, TOWN_B = 2001, 2002  # admins of 护国街道 (WH01) and 大观街道 (WH02)


async def add_communities(bench: Bench) -> None:
    """Put the communities below their 街道 in the bench's organization tree."""
    db = bench.app.bot_data.db
    stamp = ts(bench.app.bot_data.clock())
    async with db.transaction() as conn:
        await orgs.upsert_many(conn, [(c, n, "社区党委") for c, n, _ in COMMUNITIES], stamp)
        await orgs.set_parents(conn, [(c, p) for c, _, p in COMMUNITIES], stamp)


async def admin_link(bench: Bench, org: str, by: int = ADMIN_ID) -> str:
    """The code of an admin invite for `org`'s subtree, issued by `by`."""
    replies = await bench.user(by).send(f"/invite_admin {org}")
    match = LINK.search(replies.text)
    assert match, replies.text
    return match.group(1)


async def scoped_admin(
    bench: Bench, org: str, user_id: int, name: str, by: int = ADMIN_ID
) -> TgUser:
    """A person made admin of `org`'s subtree through an admin invite."""
    user = bench.user(user_id, name)
    replies = await user.send(f"/start {await admin_link(bench, org, by)}")
    assert "及其下属组织的<b>管理员</b>" in replies.text, replies.text
    return user


async def two_towns(bench: Bench) -> tuple[TgUser, TgUser]:
    """Communities below 护国 and 大观, each 街道 with its own admin."""
    await add_communities(bench)
    return (
        await scoped_admin(bench, "WH01", TOWN_A, "护国小张"),
        await scoped_admin(bench, "WH02", TOWN_B, "大观小赵"),
    )
