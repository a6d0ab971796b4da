"""Supervisor groups: only admins register them; the bot posts only to registered ones."""

from __future__ import annotations

from telegram.ext import CommandHandler

from bot.services import groups
from storage import groups as group_rows
from tests.conftest import ADMIN_ID
from tests.projects_helpers import bound_secretary
from tests.scopes_helpers import TOWN_B, two_towns
from tests.standin.dialogue import Bench


async def test_admin_registers_a_group_for_everything_then_a_subtree(bench: Bench) -> None:
    db = bench.app.bot_data.db
    admin = bench.user(ADMIN_ID, "组织部小王")
    group = bench.group(-100777, "五华区督导群")
    replies = await group.send(admin, "/bind_group@shuji_test_bot")
    assert "本群已登记为督导群，范围：全部组织（目前 16 个）" in replies.text
    assert replies[0].chat_id == -100777
    assert await groups.may_post(db, -100777)
    replies = await group.send(admin, "/bind_group WH03")
    assert "已更新本群的督导范围：华山街道党工委（WH03）及下属，共 1 个组织" in replies.text
    row = await group_rows.get(db, -100777)
    assert row is not None and row.title == "五华区督导群" and row.bound_by == ADMIN_ID


async def test_others_cannot_register_a_group(bench: Bench) -> None:
    group = bench.group(-100778)
    replies = await group.send(bench.user(1001, "李娜"), "/bind_group")
    assert "仅限管理员" in replies.text
    assert not await groups.may_post(bench.app.bot_data.db, -100778)


async def test_unknown_subtree_registers_nothing(bench: Bench) -> None:
    group = bench.group(-100779)
    replies = await group.send(bench.user(ADMIN_ID), "/bind_group NOPE<b>")
    assert "找不到组织编号“NOPE&lt;b&gt;”" in replies.text
    assert not await groups.may_post(bench.app.bot_data.db, -100779)


async def test_bind_group_in_private_explains_where(bench: Bench) -> None:
    replies = await bench.user(ADMIN_ID).send("/bind_group")
    assert "在群里发送 /bind_group" in replies.text


async def test_removed_bot_stops_posting_and_can_be_bound_again(bench: Bench) -> None:
    db = bench.app.bot_data.db
    admin = bench.user(ADMIN_ID)
    group = bench.group(-100780)
    await group.send(admin, "/bind_group")
    replies = await group.remove_bot(admin)
    assert replies == []  # the bot cannot speak in a group it has left
    assert not await groups.may_post(db, -100780)
    replies = await group.send(admin, "/bind_group")
    assert "本群已登记为督导群" in replies.text
    assert await groups.may_post(db, -100780)


async def test_unregistered_group_is_not_a_target(bench: Bench) -> None:
    assert not await groups.may_post(bench.app.bot_data.db, -100999)
    assert await group_rows.active(bench.app.bot_data.db) == []


USE_PRIVATE = "请在与机器人的私聊中使用这个命令：@shuji_test_bot"
IN_GROUPS = {"help", "digest", "bind_group"}  # the commands that do their work in a group


async def test_private_commands_in_a_group_point_to_the_private_chat(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    admin = bench.user(ADMIN_ID, "组织部小王")
    group = bench.group(-100781)
    for user, text in [(secretary, "/report"), (secretary, "/report@shuji_test_bot"),
                       (secretary, "/whoami@shuji_test_bot"), (secretary, "/start"),
                       (admin, "/projects"), (admin, "/ledger 2027"), (admin, "/reports"),
                       (bench.user(1500), "/ledger@shuji_test_bot 2027")]:  # fmt: skip
        replies = await group.send(user, text)
        assert [(c.chat_id, c.text) for c in replies] == [(-100781, USE_PRIVATE)], text
    # Another bot's commands, commands the bot does not know and chatter: not answered.
    for user, text in [(secretary, "/report@other_bot"), (admin, "/ledger@other_bot 2027"),
                       (admin, "/whoami@other_bot"), (admin, "/weather"),
                       (secretary, "大家好")]:  # fmt: skip
        assert await group.send(user, text) == [], text


async def test_every_command_the_bot_knows_is_answered_in_a_group(bench: Bench) -> None:
    known = sorted({command for registered in bench.app.handlers.values()
                    for handler in registered if isinstance(handler, CommandHandler)
                    for command in handler.commands})  # fmt: skip
    assert {"report", "projects", "ledger", "whoami", "cancel", *IN_GROUPS} <= set(known)
    admin = bench.user(ADMIN_ID)
    for n, command in enumerate(known):
        [answer] = await bench.group(-100900 - n).send(admin, f"/{command}")
        if command in IN_GROUPS:
            assert answer.text != USE_PRIVATE, command
        else:
            assert answer.text == USE_PRIVATE, command


async def test_group_upgraded_to_supergroup_keeps_its_registration(bench: Bench) -> None:
    db = bench.app.bot_data.db
    await groups.bind_group(db, -500, "old", ADMIN_ID, None, bench.app.bot_data.clock())
    await groups.group_migrated(db, -500, -100500)
    assert await groups.may_post(db, -100500) and not await groups.may_post(db, -500)
    # bound again under the new id before the migration notice arrived: no clash
    await groups.bind_group(db, -600, "old2", ADMIN_ID, None, bench.app.bot_data.clock())
    await groups.bind_group(db, -100600, "new2", ADMIN_ID, None, bench.app.bot_data.clock())
    await groups.group_migrated(db, -600, -100600)
    assert await groups.may_post(db, -100600) and not await groups.may_post(db, -600)


async def test_a_group_bound_elsewhere_says_by_whom_and_for_what(bench: Bench) -> None:
    """A town's admin cannot rebind a group bound outside the town; the refusal names the
    organization it is bound for, and who bound it: a peer town's admin or a level above."""
    town_a, town_b = await two_towns(bench)
    top = bench.user(ADMIN_ID)
    mine = "你管理的护国街道党工委（WH01）"
    peer, above, everything, gone = (bench.group(-100801 - n) for n in range(4))
    await peer.send(town_b, "/bind_group WH02")
    assert (await peer.send(town_a, "/bind_group")).text == (
        f"本群已由大观街道党工委（WH02）的管理员登记为该组织及下属的督导群，不属于{mine}及下属，"
        "你不能更改它的范围。如需调整，请联系大观街道党工委或上级管理员。"
    )
    await above.send(top, "/bind_group WH0201")
    assert (await above.send(town_a, "/bind_group")).text == (
        f"本群已由上级管理员登记为篆塘社区党委（WH0201）及下属的督导群，不属于{mine}及下属，"
        "你不能更改它的范围。如需调整，请联系上级管理员。"
    )
    await everything.send(top, "/bind_group")
    assert (await everything.send(town_a, "/bind_group WH0101")).text == (
        f"本群已由上级管理员登记为全部组织的督导群，范围包含{mine}，你不能更改它的范围。"
        "如需调整，请联系上级管理员。"
    )
    # The town's admin who bound it is removed: who it was is no longer said.
    await gone.send(town_b, "/bind_group")
    assert "已撤销" in (await top.send(f"/remove_admin {TOWN_B}")).text
    assert (await gone.send(town_a, "/bind_group")).text.startswith(
        "本群已登记为大观街道党工委（WH02）及下属的督导群，不属于"
    )
    db = bench.app.bot_data.db
    rows = [await group_rows.get(db, g.id) for g in (peer, above, everything, gone)]
    assert [(r.bound_by, r.root_org_id is None) for r in rows if r] == [
        (TOWN_B, False), (ADMIN_ID, False), (ADMIN_ID, True), (TOWN_B, False)
    ]  # fmt: skip
