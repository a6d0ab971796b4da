"""Shared steps for the project tests: bind a secretary, declare a project, review it."""

from __future__ import annotations

from tests.conftest import ADMIN_ID
from tests.standin.dialogue import Bench, Press, TgUser, expect_dialogue
from tests.test_invites_and_start import invite_code

ANSWERS = {
    "name": "南强街巷街区党建项目",
    "problem": "老旧小区无物业，环境卫生和停车难问题长期得不到解决。",
    "measures": "成立街巷党小组，建立党员认领、每周巡查、问题销号机制。",
    "targets": "年内整治背街小巷 12 条，群众满意率达到 90% 以上。",
    "span": "2027-01 至 2027-12",
    "milestones": "2027-03 建成党群服务中心\n2027-06 完成首批 6 条街巷整治\n2027-12 全部整治完成",
}


async def bound_secretary(
    bench: Bench, org: str = "WH01", user_id: int = 1001, name: str = "李娜"
) -> TgUser:
    """A secretary bound to `org` through an admin's invite."""
    user = bench.user(user_id, name)
    replies = await user.send(f"/start {await invite_code(bench, org)}")
    assert "绑定成功" in replies.text, replies.text
    return user


async def declare(secretary: TgUser, **overrides: str) -> None:
    """Walk the whole declaration and submit it."""
    a = {**ANSWERS, **overrides}
    await expect_dialogue(
        secretary,
        [
            ("/new_project", "第 1/7 步：项目名称"),
            (a["name"], "第 2/7 步：项目类型"),
            (Press("典型示范型"), "第 3/7 步"),
            (a["problem"], "第 4/7 步"),
            (a["measures"], "第 5/7 步"),
            (a["targets"], "第 6/7 步"),
            (a["span"], "第 7/7 步"),
            (a["milestones"], "请核对申报内容"),
            (Press("✅ 提交"), "已提交"),
        ],
    )


async def approve_latest(bench: Bench) -> str:
    """The admin presses 立项 on the newest application; return the bot's answer."""
    replies = await bench.user(ADMIN_ID).press("✅ 立项")
    return replies.text


async def approved_project(
    bench: Bench, org: str = "WH01", user_id: int = 1001, **overrides: str
) -> TgUser:
    """A secretary with one approved project."""
    secretary = await bound_secretary(bench, org, user_id)
    await declare(secretary, **overrides)
    assert "已立项" in await approve_latest(bench)
    return secretary
