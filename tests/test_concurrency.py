"""Two people deciding the same thing at the same moment: exactly one decision is taken,
the other person is told it was decided meanwhile. Different people's updates are handled
concurrently (bot/concurrency.py), so every decision checks its state inside the write
that records it; here each action has made its own checks before the first one writes."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial

import pytest

from bot.services import groups
from bot.services import people as people_service
from bot.texts import Texts
from handlers.buttons import STALE_ALERT
from scheduler.tick import run_tick
from storage import acceptance, bulletins, closing, notices, orgs, people, plans, projects
from storage import public as public_store
from storage.db import Database
from tests.conftest import ADMIN_ID, BotHarness, Clock, load_sample_units
from tests.projects_helpers import (
    approved_project,
    bound_secretary,
    declare,
    seed_project,
    seed_report,
)
from tests.scopes_helpers import scoped_admin, two_towns
from tests.standin.dialogue import Bench, Replies, TgUser
from tests.test_acceptance import (
    REVIEWER,
    WH01_SECRETARY,
    concluded,
    invited_reviewer,
    score_all,
    status,
)
from tests.test_adjust import ask_for_later_end
from tests.test_adjust import project as adjust_project
from tests.test_bulletin_review import GROUP, at
from tests.test_closing import SECRETARY as CLOSING_SECRETARY
from tests.test_closing import write_and_submit
from tests.test_duban import ALICE, issue, sign_and_answer
from tests.test_invites_and_start import invite_code
from tests.test_public import bound_channel, open_vote

SECOND_ADMIN = 900002
TOWN_A2 = 2003  # a second admin of 护国街道 (WH01), beside TOWN_A

Action = tuple[TgUser, Callable[[], Awaitable[Replies]]]  # who acts, and how


async def in_turn_at_once(bench: Bench, *actions: Action) -> list[Replies]:
    """Deliver the actions' updates so that each has made every check it makes before
    writing, and waits to write, before the first one writes; they then write in the order
    given (the writer's lock is first come, first served). Each gets what the bot sent to
    its person's chat."""
    db = bench.app.bot_data.db
    base = contextvars.copy_context()  # each task's own, as PTB gives every update a task
    tasks: list[asyncio.Task[Replies]] = []
    async with db.transaction(marked=False):  # nobody writes until every action waits
        for _, action in actions:
            tasks.append(asyncio.create_task(action(), context=base.copy()))  # type: ignore[arg-type]
            # No event says when another task reaches the lock: yield until it has (or is
            # done without writing); the aiosqlite threads answer its reads meanwhile.
            while db.writers < 1 + len(tasks) and not tasks[-1].done():  # noqa: ASYNC110
                await asyncio.sleep(0)
    done = await asyncio.gather(*tasks)
    return [
        Replies(c for c in replies if c.chat_id == user.id)
        for (user, _), replies in zip(actions, done, strict=True)
    ]


@pytest.fixture
async def two_admins(harness: BotHarness) -> Bench:
    """The running bot with the sample organizations and two top-level admins."""
    harness.settings = replace(harness.settings, admin_ids=frozenset({ADMIN_ID, SECOND_ADMIN}))
    bench = await harness.start()
    await load_sample_units(bench.app.bot_data.db, harness.clock())
    return bench


def stale_alerted(bench: Bench) -> bool:
    """The last button press was answered with the one stale-button alert."""
    alert = bench.api.methods("answerCallbackQuery")[-1].params
    return (alert.get("show_alert"), alert.get("text")) == (True, Texts().plain(STALE_ALERT))


async def history(bench: Bench, project_id: int = 1) -> list[tuple[str, int]]:
    reviews = await projects.reviews(bench.app.bot_data.db, project_id)
    return [(r.action, r.round) for r in reviews]


async def status_of(bench: Bench, project_id: int = 1) -> str:
    project = await projects.get(bench.app.bot_data.db, project_id)
    assert project is not None
    return project.status


# -- 立项 / 退回 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["approve", "return"])
async def test_approve_and_a_return_reason_at_once(two_admins: Bench, first: str) -> None:
    bench = two_admins
    await declare(await bound_secretary(bench))
    approver, returner = bench.user(ADMIN_ID), bench.user(SECOND_ADMIN, "组织部小李")
    await returner.press("↩️ 退回修改")

    async def approve() -> Replies:
        return await approver.press("✅ 立项")

    async def give_reason() -> Replies:
        return await returner.send("目标要量化")

    actions = {"approve": (approver, approve), "return": (returner, give_reason)}
    second = "return" if first == "approve" else "approve"
    won, lost = await in_turn_at_once(bench, actions[first], actions[second])
    assert await history(bench) == [("submit", 1), (first, 1)]
    assert await status_of(bench) == ("approved" if first == "approve" else "returned")
    assert ("已立项" if first == "approve" else "已退回") in won.text
    if second == "approve":
        assert "已经处理过" in lost.text and "已立项" not in lost.text
    else:
        assert "已经处理过" in lost.text and "已退回" not in lost.text


@pytest.mark.parametrize("first", ["pass", "return"])
async def test_pass_up_and_a_return_at_the_first_stage_at_once(
    harness: BotHarness, first: str
) -> None:
    """Two admins of one 街道 at 预审: one passes the application up while the other's
    return reason arrives."""
    harness.settings = replace(harness.settings, review_stages=2)
    bench = await harness.start()
    await load_sample_units(bench.app.bot_data.db, harness.clock())
    town_a, _ = await two_towns(bench)
    town_a2 = await scoped_admin(bench, "WH01", TOWN_A2, "护国小李")
    await declare(await bound_secretary(bench, "WH0101", 1001))
    await town_a2.press("↩️ 退回修改")

    async def pass_up() -> Replies:
        return await town_a.press("⬆️ 预审通过，报送审定")

    async def give_reason() -> Replies:
        return await town_a2.send("请写清楚整治哪几条街巷")

    actions = {"pass": (town_a, pass_up), "return": (town_a2, give_reason)}
    second = "return" if first == "pass" else "pass"
    won, lost = await in_turn_at_once(bench, actions[first], actions[second])
    assert await history(bench) == [("submit", 1), (first, 1)]
    assert await status_of(bench) == ("submitted" if first == "pass" else "returned")
    assert ("已通过预审" if first == "pass" else "已退回") in won.text
    assert "已经处理过" in lost.text


# -- 验收 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["confirm", "score"])
async def test_confirming_acceptance_while_a_reviewer_submits(
    bench: Bench, clock: Clock, first: str
) -> None:
    """The admin's 确认验收 and a second reviewer's 提交 at once: the result counts exactly
    the scores stored, and whoever came second is told so."""
    pid = await concluded(bench, clock, "WH01", WH01_SECRETARY)
    admin = bench.user(ADMIN_ID, "组织部小王")
    await admin.send(f"/reviewer_add {ADMIN_ID}")
    await score_all(admin, "2026-001", ("90", "90", "90", "90"))
    reviewer = await invited_reviewer(bench, "WH03", REVIEWER)
    await reviewer.send("/score 2026-001")
    for value in ("70", "70", "70", "70"):
        await reviewer.send(value)
    await reviewer.send("无")  # at the preview, 提交 not pressed yet
    await admin.send("/accept 2026-001")

    async def confirm() -> Replies:
        return await admin.press("✅ 确认验收")

    async def submit() -> Replies:
        return await reviewer.press("✅ 提交")

    actions = {"confirm": (admin, confirm), "score": (reviewer, submit)}
    second = "score" if first == "confirm" else "confirm"
    won, lost = await in_turn_at_once(bench, actions[first], actions[second])
    db = bench.app.bot_data.db
    scores = await acceptance.scores(db, pid)
    result = await acceptance.result(db, pid)
    if first == "confirm":
        assert "✅ 已验收" in won.text and "评分已锁定，不能再打分" in lost.text
        assert [s.reviewer_id for s in scores] == [ADMIN_ID]
        assert result is not None and (result.score, result.reviewers) == (90.0, 1)
    else:
        assert "已提交" in won.text and "评分或项目状态已有变化" in lost.text
        assert sorted(s.reviewer_id for s in scores) == sorted([ADMIN_ID, REVIEWER])
        assert result is None and await status(bench, pid) == "concluded"


# -- 月通报 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["publish", "comment"])
async def test_a_comment_arriving_as_another_admin_publishes(
    two_admins: Bench, clock: Clock, first: str
) -> None:
    """A comment is kept only if it is in the bulletin that went out; else the admin is told
    it was published meanwhile and the comment not saved."""
    bench = two_admins
    db = bench.app.bot_data.db
    pid = await seed_project(db, "WH01", None, clock(), name="WH01项目",
                             milestones=[("2026-12", "总结")])  # fmt: skip
    await seed_report(db, pid, "2026-11", at("2026-11-21 10:00"), completion=95)
    await groups.bind_group(db, GROUP, "全区", ADMIN_ID, None, clock())
    clock.now = at("2026-11-26 09:00")
    await run_tick(bench.app, clock.now)
    clock.now = at("2026-11-26 09:10")
    commenter, publisher = bench.user(ADMIN_ID), bench.user(SECOND_ADMIN, "组织部小李")
    await commenter.press("✍️ 添加点评")
    comment = "本月整体按时率较高。"

    async def publish() -> Replies:
        return await publisher.press("📤 发布")

    async def give_comment() -> Replies:
        return await commenter.send(comment)

    actions = {"publish": (publisher, publish), "comment": (commenter, give_comment)}
    second = "comment" if first == "publish" else "publish"
    said = await in_turn_at_once(bench, actions[first], actions[second])
    replies = {first: said[0], second: said[1]}
    [published] = [c.text for c in bench.api.sent(GROUP) if "月通报" in c.text]
    review = await bulletins.review(db, "2026-11")
    assert review is not None and review.published_by == SECOND_ADMIN
    if first == "publish":
        assert "已经发布，来不及加入，没有保存" in replies["comment"].text
        assert review.comment is None and comment not in published
    else:
        assert "通报点评已加入草稿" in replies["comment"].text
        assert review.comment == comment and comment in published


# -- 督办 and 结题 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["close", "return"])
async def test_closing_a_notice_while_another_admin_returns_it(
    two_admins: Bench, clock: Clock, first: str
) -> None:
    bench = two_admins
    await seed_project(bench.app.bot_data.db, "WH01", ALICE, clock())
    await issue(bench)
    await sign_and_answer(bench.user(ALICE, "李娜"))
    closer, returner = bench.user(ADMIN_ID), bench.user(SECOND_ADMIN, "组织部小李")
    await returner.press("↩️ 退回")

    async def close() -> Replies:
        return await closer.press("✅ 办结")

    async def give_reason() -> Replies:
        return await returner.send("照片看不清，请补拍台账封面")

    actions = {"close": (closer, close), "return": (returner, give_reason)}
    second = "return" if first == "close" else "close"
    won, lost = await in_turn_at_once(bench, actions[first], actions[second])
    found = await notices.get(bench.app.bot_data.db, 1)
    assert found is not None
    if first == "close":
        assert "已办结" in won.text and "已经处理过或已更新" in lost.text
        assert found.status == "closed"
    else:
        assert "已退回" in won.text and lost.text == "" and stale_alerted(bench)
        assert found.status == "signed"
    events = [e.action for e in await notices.events(bench.app.bot_data.db, 1)]
    assert events.count("close") + events.count("return") == 1


@pytest.mark.parametrize("first", ["accept", "return"])
async def test_accepting_a_closing_report_while_another_admin_returns_it(
    two_admins: Bench, clock: Clock, first: str
) -> None:
    bench = two_admins
    await seed_project(bench.app.bot_data.db, "WH01", CLOSING_SECRETARY, clock(),
                       span=("2026-01", "2026-12"))  # fmt: skip
    clock.now = at("2026-12-02 10:00")
    await write_and_submit(bench.user(CLOSING_SECRETARY, "李娜"))
    accepter, returner = bench.user(ADMIN_ID), bench.user(SECOND_ADMIN, "组织部小李")
    await returner.press("↩️ 退回修改")

    async def accept() -> Replies:
        return await accepter.press("✅ 通过结题")

    async def give_reason() -> Replies:
        return await returner.send("成果经验要写清楚推广到了哪几个社区")

    actions = {"accept": (accepter, accept), "return": (returner, give_reason)}
    second = "return" if first == "accept" else "accept"
    won, lost = await in_turn_at_once(bench, actions[first], actions[second])
    report = await closing.get(bench.app.bot_data.db, 1)
    assert report is not None
    assert report.status == ("accepted" if first == "accept" else "returned")
    if first == "accept":
        assert "已通过" in won.text and "已经处理过或已更新，本次操作未生效" in lost.text
    else:
        assert "已退回" in won.text and lost.text == "" and stale_alerted(bench)


# -- invites and votes ---------------------------------------------------------------------------


async def test_two_people_redeeming_one_invite_at_once(bench: Bench) -> None:
    code = await invite_code(bench, "WH01")
    first, second = bench.user(1001, "李娜"), bench.user(1002, "王芳")
    won, lost = await in_turn_at_once(
        bench,
        (first, partial(first.send, f"/start {code}")),
        (second, partial(second.send, f"/start {code}")),
    )
    assert "绑定成功" in won.text and "绑定成功" not in lost.text
    db = bench.app.bot_data.db
    org = await orgs.by_code(db, "WH01")
    assert org is not None
    secretary = await people.secretary_of(db, org.id)
    assert secretary is not None and secretary.user_id == 1001


async def test_two_people_voting_at_once_are_both_counted(bench: Bench) -> None:
    await bound_channel(bench)
    await approved_project(bench)
    post = await open_vote(bench)
    voters = [bench.user(6001 + i, f"群众{i}") for i in range(3)]
    await in_turn_at_once(bench, *((v, partial(v.press, "满意", post)) for v in voters))
    assert await public_store.tally(bench.app.bot_data.db, [1]) == {"s": 3}


# -- 调整 and 终止 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["agree", "terminate"])
async def test_agreeing_to_a_plan_change_while_another_admin_terminates(
    two_admins: Bench, clock: Clock, first: str
) -> None:
    """Terminating refuses the pending request with its reason; an agreement pressed after
    that is stale, one taken before it stands."""
    bench = two_admins
    pid = await adjust_project(bench, clock)
    clock.now = at("2026-07-10 10:00")
    await ask_for_later_end(bench)
    agreer, terminator = bench.user(ADMIN_ID), bench.user(SECOND_ADMIN, "组织部小李")
    request = agreer.last_bot_message(with_button="✅ 同意调整")
    actions = {
        "agree": (agreer, partial(agreer.press, "✅ 同意调整", request)),
        "terminate": (terminator, partial(terminator.send, "/terminate 2026-001 主体撤并")),
    }
    second = "terminate" if first == "agree" else "agree"
    said = await in_turn_at_once(bench, actions[first], actions[second])
    replies = {first: said[0], second: said[1]}
    db = bench.app.bot_data.db
    change = await plans.change(db, 1)
    found = await projects.get(db, pid)
    assert change is not None and found is not None and found.status == "terminated"
    assert "已终止" in replies["terminate"].text
    if first == "agree":
        assert "已通知书记" in replies["agree"].text and change.status == "approved"
        assert found.end_month == "2027-06"
    else:
        assert replies["agree"].text == "" and stale_alerted(bench)
        assert change.status == "refused" and found.end_month == "2026-12"


# -- through the application's update queue (bot/concurrency.py) ---------------------------------


async def until(what: Callable[[], bool]) -> bool:
    """Wait for `what`; the deadline only ends a failing test (each step waits on the
    database's thread)."""
    for _ in range(3000):
        if what():
            return True
        await asyncio.sleep(0.01)
    return False


async def test_approve_and_a_return_reason_through_the_update_queue(two_admins: Bench) -> None:
    """The race above as polling delivers it: both updates queued together and handled at
    once by the update processor. Whichever writes first decides; the other is told."""
    bench = two_admins
    await declare(await bound_secretary(bench))
    approver, returner = bench.user(ADMIN_ID), bench.user(SECOND_ADMIN, "组织部小李")
    await returner.press("↩️ 退回修改")
    since = len(bench.api.calls)
    with bench.through_queue():
        await approver.press("✅ 立项")
        await returner.send("目标要量化")
    await bench.app.update_queue.join()
    [submitted, (taken, _)] = await history(bench)
    assert submitted == ("submit", 1) and taken in ("approve", "return")
    assert await status_of(bench) == ("approved" if taken == "approve" else "returned")
    approved = Replies(bench.api.sent(approver.id, since=since)).text
    returned = Replies(bench.api.sent(returner.id, since=since)).text
    won, lost = (approved, returned) if taken == "approve" else (returned, approved)
    assert ("已立项" if taken == "approve" else "已退回") in won
    assert "已经处理过" in lost and ("已退回" if taken == "approve" else "已立项") not in lost


async def test_one_admins_two_quick_flags_apply_in_the_order_sent(
    two_admins: Bench, clock: Clock
) -> None:
    """Two /flag from one admin, then one from another, queued together; the first one's
    reply is stuck on its way. The other admin is answered meanwhile, the second /flag
    waits for the first to finish: it is applied and answered after it."""
    bench = two_admins
    db = bench.app.bot_data.db
    ms = [("2026-12", "总结")]
    ids = [await seed_project(db, code, None, clock(), name=f"{code}项目", milestones=ms)
           for code in ("WH01", "WH02", "WH03")]  # fmt: skip
    await seed_report(db, ids[0], "2026-11", at("2026-11-21 10:00"), completion=95)
    await seed_report(db, ids[2], "2026-11", at("2026-11-21 10:00"), completion=40)
    await groups.bind_group(db, GROUP, "全区", ADMIN_ID, None, clock())
    clock.now = at("2026-11-26 09:00")
    await run_tick(bench.app, clock.now)
    clock.now = at("2026-11-26 09:30")
    first, other = bench.user(ADMIN_ID), bench.user(SECOND_ADMIN, "组织部小李")
    since = len(bench.api.calls)
    held = bench.api.hold(lambda c: c.chat_id == first.id)
    try:
        with bench.through_queue():
            await first.send("/flag 2026-002 移出蜗牛 原因一")
            await first.send("/flag 2026-003 蜗牛 原因二")
            await other.send("/flag 2026-001 移出红旗 原因三")
        assert await until(lambda: bool(bench.api.sent(other.id, since=since)))
        assert len(held.calls) == 1  # the first /flag's reply, still on its way
        changes = await bulletins.flag_changes(db, "2026-11")
        assert [c.reason for c in changes] == ["原因一", "原因三"]  # the second waits
    finally:
        bench.api.release_holds()
    await bench.app.update_queue.join()
    changes = await bulletins.flag_changes(db, "2026-11")
    assert [c.reason for c in changes] == ["原因一", "原因三", "原因二"]
    answers = [c.text for c in bench.api.sent(first.id, since=since) if "已把" in c.text]
    assert len(answers) == 2 and "移出蜗牛" in answers[0] and "原因二" in answers[1]


# -- a read beside another person's write -------------------------------------------------------


async def test_a_step_never_sees_another_persons_uncommitted_write(
    db: Database, clock: Clock
) -> None:
    """While one person's write transaction is open, another person's step reads through
    the service layer: it sees the database as committed, not the write that is then
    rolled back."""
    await load_sample_units(db, clock())
    [org] = await orgs.by_name(db, "护国街道党工委")
    written, looked = asyncio.Event(), asyncio.Event()

    async def binds_then_fails() -> None:
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await people.bind_secretary(conn, 4242, "李娜", None, org.id, "2026-11-21")
                written.set()
                await looked.wait()
                raise RuntimeError("the step failed after its write")

    async def looks_meanwhile() -> str:
        await written.wait()
        try:
            return (await people_service.identify(db, 4242)).role
        finally:
            looked.set()

    _, role = await asyncio.gather(binds_then_fails(), looks_meanwhile())
    assert role == "stranger"
    assert (await people_service.identify(db, 4242)).role == "stranger"  # rolled back
