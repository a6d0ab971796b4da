"""The public side of a 书记项目 (晒, seed 004): 晒 channels, what may be shown there,
民主评议 and 意见建议. Nothing here knows Telegram.

What reaches a channel is built only from the Public* dataclasses below, which carry the
fields the practice publishes (the approved 项目 card, completion, milestones done, photos
marked 可公开, vote tallies): never a draft, a report's 存在问题, a 督办单 or a voter's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from bot.services import scopes
from bot.services.calendar import ReportCalendar
from bot.services.conversation import SideStep, leave
from bot.services.months import Month
from bot.services.planner import ClockConfig, bulletin_time
from bot.services.projects import find_project
from storage import dialogs, orgs, people, projects
from storage import public as store
from storage.db import Database
from storage.public import Ballot, Channel, Post, Suggestion, Vote
from storage.rows import Org, Project, parse_ts, ts

CHOICES: tuple[Literal["s", "b", "u"], ...] = ("s", "b", "u")  # 满意, 基本满意, 不满意
MAX_VOTE_DAYS = 60
SUGGEST_FLOW = "suggest"
SUGGEST_LIMIT = 500  # characters
SUGGESTIONS_PER_DAY = 5  # one account's, over all projects
SUGGEST_WAIT = timedelta(hours=24)  # a message later than this after the link is not taken
# The deep-link payload of a project's 意见建议 link: shorter than any invite code (16).
SUGGEST_PAYLOAD = re.compile(r"yj_(\d{1,10})")
# The suggestion: a one-question side-step; its step is when the link was opened.
SUGGEST: SideStep = SideStep(SUGGEST_FLOW, SideStep.asking("suggestion", SUGGEST_LIMIT))


def suggest_payload(project_id: int) -> str:
    """The /start payload of a project's 意见建议 link."""
    return f"yj_{project_id}"


# -- what a channel may show ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublicMilestone:
    month: str
    content: str
    done: bool


@dataclass(frozen=True, slots=True)
class PublicCard:
    """The approved project as the 晒清单 shows it."""

    project_id: int
    number: str
    name: str
    org_name: str
    kind: str
    problem: str
    measures: str
    targets: str
    start_month: str
    end_month: str
    milestones: tuple[PublicMilestone, ...]


@dataclass(frozen=True, slots=True)
class PublicProgress:
    """One project's line in a monthly 晒动态 post."""

    number: str
    name: str
    org_name: str
    completion: int | None
    done: tuple[str, ...]  # milestones done this month
    photos: tuple[str, ...]  # file ids marked 可公开


@dataclass(frozen=True, slots=True)
class Satisfaction:
    """民主评议 results: ballots by choice and 群众满意率 (满意 and 基本满意 over all)."""

    satisfied: int = 0
    basic: int = 0
    unsatisfied: int = 0

    @property
    def total(self) -> int:
        return self.satisfied + self.basic + self.unsatisfied

    @property
    def rate(self) -> int | None:
        """群众满意率 in whole percent, or None without a ballot."""
        if not self.total:
            return None
        return round(100 * (self.satisfied + self.basic) / self.total)


@dataclass(frozen=True, slots=True)
class PublicVote:
    """A 民主评议 post: the project, the window, the tally so far."""

    vote_id: int
    project_id: int
    number: str
    name: str
    org_name: str
    closes_at: datetime
    closed: bool
    tally: Satisfaction


@dataclass(frozen=True, slots=True)
class PublicResult:
    """The 晒效果 post at 结题."""

    card: PublicCard
    completion: int | None
    satisfaction: Satisfaction


async def _card(db: Database, project: Project) -> PublicCard | None:
    """The public card of an approved project (None for anything else)."""
    if project.status not in store.APPROVED or project.number is None:
        return None
    org = await orgs.by_id(db, project.org_id)
    assert org is not None
    milestones = await projects.milestones(db, project.id)
    return PublicCard(
        project.id, project.number, project.name or "", org.name, project.kind or "",
        project.problem or "", project.measures or "", project.targets or "",
        project.start_month or "", project.end_month or "",
        tuple(PublicMilestone(m.month, m.content, m.done_month is not None) for m in milestones),
    )  # fmt: skip


async def card(db: Database, project_id: int) -> PublicCard | None:
    """The public card of a project, if it is approved."""
    project = await projects.get(db, project_id)
    return await _card(db, project) if project is not None else None


async def progress(db: Database, root_org_id: int | None, period: Month) -> list[PublicProgress]:
    """The 晒动态 of a month for a scope: each running project's completion, the milestones
    done that month and the photos marked 可公开."""
    lines = []
    for line in await store.month_lines(db, root_org_id, str(period)):
        project = line.project
        assert project.number is not None  # approved: numbered
        lines.append(PublicProgress(project.number, project.name or "", line.org_name,
                                    line.completion, line.done, line.photos))  # fmt: skip
    return lines


async def satisfaction(db: Database, project_id: int) -> Satisfaction:
    """A project's 民主评议 over all its windows: for 群众满意率 (验收 and anyone else)."""
    ids = [v.id for v in await store.votes_of(db, project_id)]
    counts = await store.tally(db, ids)
    return Satisfaction(counts.get("s", 0), counts.get("b", 0), counts.get("u", 0))


async def result(db: Database, project_id: int) -> PublicResult | None:
    """The 晒效果 of a project: its card, final completion and 民主评议 results."""
    shown = await card(db, project_id)
    if shown is None:
        return None
    completion = await store.completion_by(db, project_id, "9999-12")
    return PublicResult(shown, completion, await satisfaction(db, project_id))


async def vote_view(db: Database, vote: Vote, now: datetime) -> PublicVote:
    """A 民主评议 post's content now."""
    project = await projects.get(db, vote.project_id)
    assert project is not None and project.number is not None
    org = await orgs.by_id(db, project.org_id)
    assert org is not None
    counts = await store.tally(db, [vote.id])
    return PublicVote(
        vote.id, project.id, project.number, project.name or "", org.name, vote.closes_at,
        now >= vote.closes_at,
        Satisfaction(counts.get("s", 0), counts.get("b", 0), counts.get("u", 0)),
    )  # fmt: skip


# -- channels --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelBinding:
    outcome: str  # bound | rebound | unknown_org | taken | not_admin
    root: Org | None = None
    covered: int = 0
    query: str = ""
    title: str = ""
    held: scopes.Held | None = None  # with "taken": whose binding it is


async def bind_channel(
    db: Database, chat_id: int, title: str, username: str | None, by_user: int,
    org_code: str | None, now: datetime,
) -> ChannelBinding:  # fmt: skip
    """Register a 晒 channel for all organizations or one subtree (as supervisor groups): an
    admin of a subtree binds it at or below their own organization (theirs by default) and
    never takes over a channel bound for more than their subtree."""
    scope = await scopes.admin_scope(db, by_user)
    if scope is None:
        return ChannelBinding("not_admin", title=title)
    root = scope.root
    if org_code:
        root = await orgs.by_code(db, org_code)
        if root is None or not await scopes.covers(db, scope, root.id):
            return ChannelBinding("unknown_org", query=org_code, title=title)  # not shown
    async with db.transaction() as conn:
        before = await store.channel(conn, chat_id)
        if before is not None and before.active:
            held = await scopes.held(conn, scope, before.root_org_id, before.bound_by)
            if held is not None:
                return ChannelBinding("taken", title=title, held=held)
        await store.bind_channel(conn, chat_id, title, username, root.id if root else None,
                                 by_user, ts(now))  # fmt: skip
        covered = len(await orgs.subtree_ids(conn, root.id)) if root else await orgs.count(conn)
    outcome = "rebound" if before and before.active else "bound"
    return ChannelBinding(outcome, root, covered, title=title)


async def admins_among(db: Database, user_ids: list[int]) -> list[int]:
    """Of a channel's administrators, the bot's admins: the top level's first (the first of
    these binds a channel from inside it)."""
    found = [(not scope.top, i, scope.user_id) for i, user_id in enumerate(user_ids)
             if (scope := await scopes.admin_scope(db, user_id)) is not None]  # fmt: skip
    return [user_id for _, _, user_id in sorted(found)]


async def channel_left(db: Database, chat_id: int) -> bool:
    """Stop posting to a channel the bot left or may no longer post in."""
    async with db.transaction() as conn:
        return await store.deactivate_channel(conn, chat_id)


async def channels(db: Database) -> list[Channel]:
    """The channels the bot posts to."""
    return await store.active_channels(db)


async def cards_owed(db: Database, channel: Channel) -> list[int]:
    """Projects approved since the channel was bound whose card it has not had."""
    return await store.cards_owed(db, channel.chat_id, channel.root_org_id, ts(channel.since))


async def results_owed(db: Database, channel: Channel) -> list[int]:
    """Projects concluded since the channel was bound whose 晒效果 it has not had."""
    return await store.results_owed(db, channel.chat_id, channel.root_org_id,
                                    ts(channel.since))  # fmt: skip


async def covers(db: Database, channel: Channel, project_id: int) -> bool:
    """Whether the channel's scope includes the project."""
    return await store.covers(db, channel.root_org_id, project_id)


def monthly_period(
    cal: ReportCalendar, cfg: ClockConfig, now: datetime
) -> tuple[Month, datetime] | None:
    """The month whose 晒动态 is due at `now`, with its moment: from its bulletin's moment
    (the first working day after the deadline) until the next month's."""
    this = Month.of(now.astimezone(cal.tz))
    for period in (this, this.plus(-1)):
        moment = bulletin_time(cal, cfg, period)
        if moment <= now < bulletin_time(cal, cfg, period.plus(1)):
            return period, moment
    return None


# -- posts -----------------------------------------------------------------------------------


async def claim(
    db: Database, key: str, kind: str, chat_id: int, now: datetime, *,
    project_id: int | None = None, vote_id: int | None = None, period: str | None = None,
) -> int | None:  # fmt: skip
    """Claim a post under its key before it is sent: None if it was claimed before (never twice)."""
    async with db.transaction() as conn:
        return await store.claim_post(conn, key, kind, chat_id, project_id, vote_id, period,
                                      ts(now))  # fmt: skip


async def claimed(db: Database, key: str) -> bool:
    """Whether a post was claimed under this key already (a cheap look before building it;
    the claim itself still decides)."""
    return await store.claimed(db, key)


STALE_CLAIM = timedelta(minutes=10)  # far longer than a post's sends take, limits included


async def settle_stale_claims(db: Database, now: datetime) -> int:
    """Posts left `sending` by a process that died: `uncertain`, never posted twice."""
    async with db.transaction() as conn:
        return await store.settle_stale_claims(conn, ts(now - STALE_CLAIM), ts(now))


async def finish(
    db: Database, post_id: int, status: str, now: datetime, message_ids: list[int] | None = None,
    error: str | None = None,
) -> None:  # fmt: skip
    """Record how a claimed post ended; a post that never left is released for a retry."""
    async with db.transaction() as conn:
        if status == "retry":
            await store.release_post(conn, post_id)
            return
        ids = message_ids or []
        await store.finish_post(conn, post_id, status, ids[0] if ids else None, ids[1:],
                                error, ts(now))  # fmt: skip


@dataclass(frozen=True, slots=True)
class PostAction:
    outcome: str  # ok | not_found | own | not_up | bad_number
    post: Post | None = None
    query: str = ""


async def _sees_post(db: Database, scope: scopes.AdminScope | None, post: Post) -> bool:
    """A post of a project in the admin's subtree, or a 晒动态 of a channel bound at or below
    their organization (the top level: every post)."""
    if scope is None or scope.top:
        return scope is not None
    if post.project_id is not None:
        project = await projects.get(db, post.project_id)
        return project is not None and await scopes.covers(db, scope, project.org_id)
    channel = await store.channel(db, post.chat_id)
    return (
        channel is not None
        and channel.root_org_id is not None
        and await scopes.covers(db, scope, channel.root_org_id)
    )


async def post_for_action(db: Database, query: str, admin_id: int) -> PostAction:
    """The post an admin names by its 帖子号, if the bot has a message up for it (a post
    outside the admin's subtree is not shown to exist)."""
    if not query.isdigit() or len(query) > 10:
        return PostAction("bad_number", query=query)
    found = await store.post(db, int(query))
    scope = await scopes.admin_scope(db, admin_id)
    if found is None or not await _sees_post(db, scope, found):
        return PostAction("not_found", query=query)
    project = await projects.get(db, found.project_id) if found.project_id is not None else None
    if project is not None and not await scopes.decides_for(db, admin_id, project.org_id):
        return PostAction("own", found, query)  # a post of their own organization's project
    if found.status not in ("posted", "withheld") or found.message_id is None:
        return PostAction("not_up", found, query)
    return PostAction("ok", found, query)


async def mark_post(db: Database, post_id: int, status: str, now: datetime) -> None:
    """Record that an admin withheld or deleted a post."""
    async with db.transaction() as conn:
        await store.set_post_status(conn, post_id, status, ts(now))


async def recent_posts(
    db: Database, query: str, admin_id: int
) -> tuple[str, list[Post], Project | None]:
    """/posts [项目编号]: ('ok', the newest posts the admin may take down, the project) or
    ('not_found', [], None), also for a project outside the admin's subtree."""
    scope = await scopes.admin_scope(db, admin_id)
    if scope is None:
        return "not_found", [], None
    project = None
    if query:
        project = await find_project(db, query)
        if project is None or not await scopes.covers(db, scope, project.org_id):
            return "not_found", [], None
    found = await store.recent_posts(db, project.id if project else None,
                                     under=scope.root_id)  # fmt: skip
    return "ok", found, project


async def post_titles(db: Database, posts: list[Post]) -> dict[int, str]:
    """Each post's project name, by project id, for listings."""
    names: dict[int, str] = {}
    for item in posts:
        if item.project_id is not None and item.project_id not in names:
            project = await projects.get(db, item.project_id)
            names[item.project_id] = (project.name or "") if project else ""
    return names


async def vote_posts(db: Database, vote_id: int) -> list[Post]:
    """The posts of a 民主评议 window that are up."""
    return await store.vote_posts(db, vote_id)


async def shown(db: Database, post_id: int, changes: int, now: datetime) -> None:
    """Record that a vote post shows the tally after `changes` ballot changes."""
    async with db.transaction() as conn:
        await store.mark_shown(conn, post_id, changes, ts(now))


# -- 民主评议 ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VoteOpening:
    outcome: str  # opened | not_found | own | bad_days | already_open | usage
    vote: Vote | None = None
    project: Project | None = None
    query: str = ""
    limit: int = MAX_VOTE_DAYS


async def _approved_for(db: Database, admin_id: int, query: str) -> Project | None:
    """The approved project numbered `query` in the admin's subtree (else as if none)."""
    project = await find_project(db, query)
    if project is None or project.status not in store.APPROVED:
        return None
    return project if await scopes.acting(db, admin_id, project.org_id) else None


async def open_vote(db: Database, args: list[str], admin_id: int, now: datetime) -> VoteOpening:
    """/vote <项目编号> <天数>: open a 民主评议 window on an approved project from now."""
    if len(args) != 2:
        return VoteOpening("usage")
    query, days_text = args[0][:30], args[1].removesuffix("天")
    project = await _approved_for(db, admin_id, query)
    if project is None:
        return VoteOpening("not_found", query=query)  # outside the subtree: not shown
    if not await scopes.decides_for(db, admin_id, project.org_id):
        return VoteOpening("own", project=project)  # their own organization's: the level above
    if not days_text.isdigit() or not 1 <= int(days_text) <= MAX_VOTE_DAYS:
        return VoteOpening("bad_days", project=project, query=days_text[:10])
    stamp = ts(now)
    async with db.transaction() as conn:
        current = await store.open_vote_of(conn, project.id, stamp)
        if current is not None:
            return VoteOpening("already_open", current, project)
        closes = ts(now + timedelta(days=int(days_text)))
        vote_id = await store.create_vote(conn, project.id, stamp, closes, admin_id, stamp)
        opened = await store.vote(conn, vote_id)
    return VoteOpening("opened", opened, project)


async def unsettled_votes(db: Database) -> list[Vote]:
    """Windows open now, or closed without their final tally posted."""
    return await store.unsettled_votes(db)


async def vote_settled(db: Database, vote_id: int) -> None:
    """Every post of a closed window shows its final tally."""
    async with db.transaction() as conn:
        await store.mark_final(conn, vote_id)


@dataclass(frozen=True, slots=True)
class BallotOutcome:
    outcome: str  # cast | changed | same | closed | stale
    vote: Vote | None = None
    choice: str = ""


async def cast(
    db: Database, vote_id: int, project_id: int, choice: str, chat_id: int, message_id: int,
    user_id: int, full_name: str, username: str | None, now: datetime,
) -> BallotOutcome:  # fmt: skip
    """A press on a 民主评议 post: one ballot per account, changeable until the window
    closes. A button whose vote, project and post do not belong together is stale."""
    found = await store.vote(db, vote_id)
    on = await store.post_of_message(db, chat_id, message_id)
    if (
        found is None
        or found.project_id != project_id
        or choice not in CHOICES
        or on is None
        or on.vote_id != vote_id
        or on.status != "posted"
    ):
        return BallotOutcome("stale")
    if now >= found.closes_at or now < found.opens_at:
        return BallotOutcome("closed", found)
    async with db.transaction() as conn:
        done = await store.cast(conn, vote_id, user_id, full_name[:100], username, choice,
                                ts(now))  # fmt: skip
    return BallotOutcome(done, found, choice)


@dataclass(frozen=True, slots=True)
class VoterList:
    outcome: str  # ok | not_found | usage
    project: Project | None = None
    windows: list[tuple[Vote, list[Ballot]]] = field(default_factory=list)
    satisfaction: Satisfaction = Satisfaction()
    query: str = ""


async def voters(db: Database, query: str, admin_id: int) -> VoterList:
    """/voters <项目编号>: the project, if it is approved and in the admin's subtree (its
    ballots are read by voter_list, in the export process)."""
    if not query:
        return VoterList("usage")
    project = await _approved_for(db, admin_id, query)
    if project is None:
        return VoterList("not_found", query=query)
    return VoterList("ok", project)


async def voter_list(db: Database, project: Project) -> VoterList:
    """Every ballot of a project's 民主评议 windows with its Telegram account, for audit."""
    windows = [(v, await store.ballots(db, v.id))
               for v in await store.votes_of(db, project.id)]  # fmt: skip
    return VoterList("ok", project, windows, await satisfaction(db, project.id))


# -- 意见建议 ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SuggestionOutcome:
    # ask | not_found | own (its own secretary) | busy | throttled | saved | empty | too_long
    # | cancelled | expired | no_dialog
    outcome: str
    card: PublicCard | None = None
    suggestion_id: int = 0
    text: str = ""
    secretary_id: int | None = None
    admin_ids: tuple[int, ...] = ()
    length: int = 0
    limit: int = SUGGEST_LIMIT


async def _throttled(db: Database, user_id: int, now: datetime) -> bool:
    since = ts(now - timedelta(days=1))
    return await store.suggestions_since(db, user_id, since) >= SUGGESTIONS_PER_DAY


async def start_suggestion(
    db: Database, user_id: int, payload: str, now: datetime
) -> SuggestionOutcome:
    """The 意见建议 link was opened: ask for the suggestion (the next message is it)."""
    match = SUGGEST_PAYLOAD.fullmatch(payload)
    shown = await card(db, int(match.group(1))) if match else None
    if shown is None:
        return SuggestionOutcome("not_found")
    project = await projects.get(db, shown.project_id)
    secretary = await people.secretary_of(db, project.org_id) if project else None
    if secretary is not None and secretary.user_id == user_id:
        return SuggestionOutcome("own", shown)  # not a resident's: it would reach 组织部 as one
    current = await dialogs.get(db, user_id)
    if current is not None and current.flow != SUGGEST_FLOW:
        return SuggestionOutcome("busy", shown)  # a declaration or report is open: keep it
    if await _throttled(db, user_id, now):
        return SuggestionOutcome("throttled", shown)
    # The step holds when the link was opened (see give_suggestion).
    await SUGGEST.open(db, user_id, shown.project_id, ts(now), now)
    return SuggestionOutcome("ask", shown)


async def give_suggestion(
    db: Database, user_id: int, full_name: str, username: str | None, text: str, now: datetime
) -> SuggestionOutcome:
    """The suggestion typed after the link: store it and say whom to tell."""
    current = SUGGEST.own(await dialogs.get(db, user_id))
    if current is None:
        return SuggestionOutcome("no_dialog")
    shown = await card(db, current.subject_id)
    if shown is None or now - parse_ts(current.step) > SUGGEST_WAIT:
        # A message a day after the link is not taken for a suggestion the person forgot.
        await leave(db, user_id)
        return SuggestionOutcome("not_found" if shown is None else "expired", shown)
    cleaned, problem = SUGGEST.read(text)
    if problem is not None:
        return SuggestionOutcome(problem[0], shown, length=len(cleaned))
    if await _throttled(db, user_id, now):
        await leave(db, user_id)
        return SuggestionOutcome("throttled", shown)
    async with db.transaction() as conn:
        new_id = await store.add_suggestion(conn, shown.project_id, user_id, full_name[:100],
                                            username, cleaned, ts(now))  # fmt: skip
        await SUGGEST.done(conn, user_id)
        project = await projects.get(conn, shown.project_id)
        assert project is not None
        secretary = await people.secretary_of(conn, project.org_id)
        # The nearest level above the organization that has admins, else the top level.
        level, admins = await scopes.nearest_level(conn, project.org_id)
        if level is None:
            admins = await scopes.top_admins(conn)
    return SuggestionOutcome(
        "saved", shown, new_id, cleaned, secretary.user_id if secretary else None,
        tuple(dict.fromkeys(a for a in admins if a != user_id)),
    )  # fmt: skip


async def cancel_suggestion(db: Database, user_id: int) -> SuggestionOutcome:
    """取消, 上一步 or /cancel instead of a suggestion: nothing kept (the link interrupted no
    decision: nothing to offer again)."""
    await SUGGEST.leave(db, user_id)
    return SuggestionOutcome("cancelled")


async def suggestions(db: Database, project_id: int) -> list[Suggestion]:
    """A project's 意见建议, oldest first (for /history)."""
    return await store.suggestions(db, project_id)
