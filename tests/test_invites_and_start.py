"""Invites and binding, driven through the real Application on the in-process stand-in."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from bot.services import invites as invite_service
from storage import invites as invite_rows
from storage import orgs, people
from storage.rows import ts
from tests.conftest import ADMIN_ID, BotHarness, Clock
from tests.standin.dialogue import Bench, Replies, expect_dialogue

LINK = re.compile(r"https://t\.me/shuji_test_bot\?start=([A-Za-z0-9_-]{16})")


async def invite_code(bench: Bench, query: str = "WH01") -> str:
    replies = await bench.user(ADMIN_ID, "组织部小王").send(f"/invite {query}")
    match = LINK.search(replies.text)
    assert match, replies.text
    return match.group(1)


async def secretary_of(bench: Bench, code: str) -> int | None:
    db = bench.app.bot_data.db
    org = await orgs.by_code(db, code)
    assert org is not None
    person = await people.secretary_of(db, org.id)
    return person.user_id if person else None


async def test_secretary_binds_through_an_admins_invite(bench: Bench) -> None:
    code = await invite_code(bench)
    alice = bench.user(1001, "李", "娜", username="lina")
    await expect_dialogue(
        alice,
        [
            (f"/start {code}", "绑定成功！你已登记为 <b>护国街道党工委</b>（WH01）的书记"),
            ("/whoami", "组织：护国街道党工委（WH01）"),
            ("/start", "你是 <b>护国街道党工委</b>（WH01）的书记"),
            ("/help", "单月报告"),
        ],
    )
    assert await secretary_of(bench, "WH01") == 1001
    # the greeting says what the bot will ask of them
    first = bench.api.sent(1001)[0].text
    for duty in ("申报", "单月报告", "双月调度", "督办单"):
        assert duty in first
    # secretaries get their own command menu
    assert "chat:1001" in bench.api.commands


async def test_binding_survives_a_restart(harness: BotHarness, bench: Bench) -> None:
    code = await invite_code(bench)
    await bench.user(1001, "李娜").send(f"/start {code}")
    bench = await harness.restart()
    replies = await bench.user(1001, "李娜").send("/whoami")
    assert "身份：书记" in replies.text


async def test_same_code_again_from_same_person_changes_nothing(bench: Bench) -> None:
    code = await invite_code(bench)
    alice = bench.user(1001, "李娜")
    await alice.send(f"/start {code}")
    replies = await alice.send(f"/start {code}")
    assert "无需再次绑定" in replies.text
    assert await secretary_of(bench, "WH01") == 1001


async def test_used_code_is_refused_for_someone_else(bench: Bench) -> None:
    code = await invite_code(bench)
    await bench.user(1001, "李娜").send(f"/start {code}")
    replies = await bench.user(1002, "张伟").send(f"/start {code}")
    assert "已经被使用过了" in replies.text
    assert await secretary_of(bench, "WH01") == 1001
    assert "身份：尚未绑定" in (await bench.user(1002, "张伟").send("/whoami")).text


async def test_expired_code_is_refused(bench: Bench, clock: Clock) -> None:
    code = await invite_code(bench)
    clock.advance(days=30, seconds=1)
    replies = await bench.user(1001, "李娜").send(f"/start {code}")
    assert "已过期" in replies.text and "护国街道党工委" in replies.text
    assert await secretary_of(bench, "WH01") is None
    # an admin asking again after expiry gets a fresh, working link
    fresh = await invite_code(bench)
    assert fresh != code
    assert "绑定成功" in (await bench.user(1001, "李娜").send(f"/start {fresh}")).text


async def test_code_for_an_organization_that_already_has_a_secretary(
    bench: Bench, clock: Clock
) -> None:
    first = await invite_code(bench)
    db = bench.app.bot_data.db
    org = await orgs.by_code(db, "WH01")
    assert org is not None
    second = invite_service.new_code()  # e.g. a spreadsheet link exported before the chat one
    async with db.transaction() as conn:
        await invite_rows.insert_many(
            conn, [(second, org.id)], None, ts(clock()), ts(clock() + timedelta(days=3))
        )
    await bench.user(1001, "李娜").send(f"/start {first}")
    replies = await bench.user(1002, "张伟").send(f"/start {second}")
    assert "已经绑定了书记" in replies.text
    assert await secretary_of(bench, "WH01") == 1001
    assert (await invite_rows.get(db, second)).used_at is None  # type: ignore[union-attr]


async def test_admin_cannot_bind_as_secretary(bench: Bench) -> None:
    code = await invite_code(bench)
    replies = await bench.user(ADMIN_ID).send(f"/start {code}")
    assert "管理员账号，不能绑定为书记" in replies.text
    assert await secretary_of(bench, "WH01") is None


async def test_secretary_cannot_take_a_second_organization(bench: Bench) -> None:
    code1, code2 = await invite_code(bench, "WH01"), await invite_code(bench, "WH02")
    alice = bench.user(1001, "李娜")
    await alice.send(f"/start {code1}")
    replies = await alice.send(f"/start {code2}")
    assert "一个账号只能绑定一个组织" in replies.text
    assert await secretary_of(bench, "WH02") is None
    # the second invite is still good for the right person
    assert "绑定成功" in (await bench.user(1002, "张伟").send(f"/start {code2}")).text


async def test_wrong_codes_are_slowed_down(bench: Bench, clock: Clock) -> None:
    good = await invite_code(bench)
    mallory = bench.user(6666, "猜码者")
    for attempt in range(5):
        replies = await mallory.send(f"/start {'A' * 15}{attempt}")
        assert "邀请码无效" in replies.text
    clock.advance(minutes=1)
    replies = await mallory.send(f"/start {good}")  # even a good code waits
    assert "错误次数过多，请 14 分钟后再试" in replies.text
    assert await secretary_of(bench, "WH01") is None
    clock.advance(minutes=14)
    assert "绑定成功" in (await mallory.send(f"/start {good}")).text


async def test_throttle_is_per_account(bench: Bench) -> None:
    good = await invite_code(bench)
    for attempt in range(6):
        await bench.user(6666).send(f"/start wrong{attempt}")
    assert "绑定成功" in (await bench.user(1001, "李娜").send(f"/start {good}")).text


async def test_malformed_codes_get_a_clear_answer(bench: Bench) -> None:
    alice = bench.user(1001, "李娜")
    for code in ("<b>hi</b>", "x" * 5000, "书记书记", "{{ 7*7 }}", "&amp;"):
        replies = await alice.send(f"/start {code}")
        assert len(replies) == 1 and "邀请码无效" in replies.text, code


async def test_start_with_a_code_in_a_group_binds_nothing(bench: Bench) -> None:
    code = await invite_code(bench)
    alice = bench.user(1001, "李娜")
    replies = await bench.group(-100200).send(alice, f"/start@shuji_test_bot {code}")
    assert "私聊" in replies.text
    assert await secretary_of(bench, "WH01") is None


async def test_two_people_racing_for_one_code(bench: Bench, clock: Clock) -> None:
    code = await invite_code(bench)
    db = bench.app.bot_data.db

    async def try_it(user_id: int) -> str:
        result = await invite_service.redeem(
            db, code, user_id, "x", None, clock(), max_failures=5, window_minutes=15
        )
        return result.outcome

    outcomes = await asyncio.gather(*(try_it(2000 + i) for i in range(8)))
    assert sorted(outcomes) == ["bound"] + ["used"] * 7
    assert await secretary_of(bench, "WH01") in range(2000, 2008)


async def test_codes_are_long_random_and_fit_a_deep_link() -> None:
    codes = {invite_service.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert invite_service.CODE_PATTERN.match(code) and len(code) <= 64
    assert invite_service.CODE_BYTES * 8 >= 64
    # "-" or "_" first would make the invites sheet quote the code (formula guard), and the
    # code people copy from it would no longer match its link.
    assert sorted({c[0] for c in codes} & set("-_")) == []


# -- /start, /help, /whoami for each kind of person --------------------------------------------


async def test_stranger_is_told_how_to_get_in(bench: Bench) -> None:
    stranger = bench.user(5555, "路人")
    replies = await stranger.send("/start")
    assert "邀请链接" in replies.text and "<code>5555</code>" in replies.text
    assert "/whoami" in (await stranger.send("/help")).text
    assert "尚未绑定" in (await stranger.send("/whoami")).text


async def test_admin_sees_admin_help(bench: Bench) -> None:
    admin = bench.user(ADMIN_ID, "组织部小王")
    assert "你是<b>管理员</b>" in (await admin.send("/start")).text
    text = (await admin.send("/help")).text
    assert "/invite" in text and "/bind_group" in text and "import-units" in text
    assert "身份：管理员" in (await admin.send("/whoami")).text


async def test_name_with_markup_is_escaped(bench: Bench) -> None:
    # The stand-in refuses unbalanced or unknown HTML like Telegram; escaping keeps it valid.
    replies = await bench.user(5556, "<b>坏&名字").send("/whoami")
    assert "&lt;b&gt;坏&amp;名字" in replies.text


async def test_command_menus_are_set_per_scope_in_chinese(bench: Bench) -> None:
    commands = bench.api.commands
    private = {c["command"] for c in commands["all_private_chats"]}
    admin = {c["command"] for c in commands[f"chat:{ADMIN_ID}"]}
    group = {c["command"] for c in commands["all_group_chats"]}
    assert {"start", "help", "whoami"} <= private and "invite" not in private
    assert "invite" in admin
    assert group == {"help", "digest", "bind_group"}
    for scope in commands.values():
        for c in scope:
            assert re.fullmatch(r"[a-z0-9_]{1,32}", c["command"])
            assert re.search(r"[\u4e00-\u9fff]", c["description"])


# -- /invite ------------------------------------------------------------------------------------


async def test_invite_refusals_and_help(bench: Bench) -> None:
    admin = bench.user(ADMIN_ID, "组织部小王")
    await expect_dialogue(
        admin,
        [
            ("/invite", "用法：/invite 组织编号或名称"),
            ("/invite 不存在的组织", "找不到组织“不存在的组织”"),
            ("/invite 街道", lambda r: "WH01 — 护国街道党工委" in r.text and "多个" in r.text),
            ("/invite WH", "不需要书记邀请"),
            ("/invite " + "长" * 101, "最多 100 个字"),
            ("/invite <b>x</b>", "找不到组织“&lt;b&gt;x&lt;/b&gt;”"),
            ("/invite 护国街道党工委", LINK),
        ],
    )


async def test_invite_again_gives_the_same_link(bench: Bench) -> None:
    assert await invite_code(bench) == await invite_code(bench)


async def test_invite_for_an_organization_with_a_secretary(bench: Bench) -> None:
    await bench.user(1001, "李娜").send(f"/start {await invite_code(bench)}")
    replies = await bench.user(ADMIN_ID).send("/invite WH01")
    assert "已绑定书记：李娜" in replies.text and not LINK.search(replies.text)


async def test_invite_is_for_admins_only(bench: Bench) -> None:
    code = await invite_code(bench)
    alice = bench.user(1001, "李娜")
    await alice.send(f"/start {code}")
    for who in (alice, bench.user(5555, "路人")):
        replies = await who.send("/invite WH02")
        assert "仅限管理员" in replies.text and not LINK.search(replies.text)


# -- anything else in a private chat ------------------------------------------------------------


async def test_nothing_is_dropped_in_silence(bench: Bench) -> None:
    alice = bench.user(1001, "李娜")
    for kind in ("photo", "sticker", "voice", "document", "video", "location", "contact"):
        replies = await alice.send_media(kind)
        assert "没有看懂" in replies.text, kind
    for text in ("你好", "x" * 4096, "<b>", "{{ 1 }}", "   ", "🙂"):
        replies: Replies = await alice.send(text)
        assert "没有看懂" in replies.text, text
    replies = await alice.send("/nonsense_cmd")
    assert "没有这个命令：/nonsense_cmd" in replies.text
    replies = await alice.send("/<b>")
    assert "没有这个命令：/&lt;b&gt;" in replies.text
    assert "不会被重新处理" in (await alice.edit("/start abc")).text


async def test_reused_invite_is_never_about_to_expire(bench: Bench, clock: Clock) -> None:
    first = await invite_code(bench)
    clock.advance(days=14)
    assert await invite_code(bench) == first  # more than half its 30 days left
    clock.advance(days=2)
    second = await invite_code(bench)
    assert second != first
    # the first link, already sent out, still works until it expires
    assert "绑定成功" in (await bench.user(1001, "李娜").send(f"/start {first}")).text


async def test_admin_removed_from_settings_loses_rights(harness: BotHarness, bench: Bench) -> None:
    from dataclasses import replace

    harness.settings = replace(harness.settings, admin_ids=frozenset({ADMIN_ID + 1}))
    bench = await harness.restart()
    assert "仅限管理员" in (await bench.user(ADMIN_ID).send("/invite WH01")).text
    assert LINK.search((await bench.user(ADMIN_ID + 1).send("/invite WH01")).text)


async def test_admin_who_opens_the_bot_late_gets_the_admin_menu(harness: BotHarness) -> None:
    harness.api.never_started.add(ADMIN_ID)
    bench = await harness.start()
    assert f"chat:{ADMIN_ID}" not in bench.api.commands  # Telegram refused: chat not found
    harness.api.never_started.discard(ADMIN_ID)
    await bench.user(ADMIN_ID).send("/start")
    assert "invite" in {c["command"] for c in bench.api.commands[f"chat:{ADMIN_ID}"]}
