"""A reusable bulk generator: a province-sized database of organizations, secretaries,
approved 书记项目, a year of monthly reports, 督办单, supervisor groups and exemptions.

    python -m benchmarks.seed --orgs 2000 --db /tmp/bench.sqlite3 [--seed 1] [--year 2026]

The file is created with `storage.db.Database.open` (so the schema is the real one, every
migration applied) and filled with plain `executemany` in a few large transactions: about
1.1 million report rows for 100,000 organizations take well under a minute. Everything is
drawn from one seeded `random.Random`, so the same arguments give the same database.
Prints one JSON line (row counts, seconds) on stdout; logs go to stderr.

What is written (ORGS organizations, YEAR):
- a tree: one 组织部 root, ~1% 党委 under it, the rest 党支部 spread over those;
- one bound secretary per organization and two admins;
- one approved project per organization spanning YEAR-01..YEAR-12, three milestones each;
- twelve months of reports: ~90% filed (a weaker ~15% of projects file ~60% of months),
  ~8% of filed ones late, ~5% with a second version, completion rising month by month with
  ~8% stalls and ~1% drops (with a reason), ~20% naming a problem, milestones ticked off
  in the report of the month they were done (and `milestones.done_month` set to match);
  a few unsubmitted working copies; evidence files in versions and in `report_files`;
- 200 + ORGS/250 督办单 (5% drafts; the rest issued, signed, answered or closed, some
  returned once) with their `notice_events`;
- three supervisor groups: one covering everything, one a 党委's subtree, one inactive;
- ~0.3% of organizations exempt in each month;
- one 民主评议 window on project 1 with BALLOTS ballots (for /voters' workbook).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.services.calendar import ReportCalendar
from bot.services.months import Month
from storage.db import Connection, Database

logger = logging.getLogger("benchmarks.seed")

SHANGHAI = ZoneInfo("Asia/Shanghai")
SECRETARY_BASE = 100_000_000  # a secretary's Telegram user id: SECRETARY_BASE + org id
ADMINS = (900_001, 900_002)
GROUP_ALL, GROUP_SUBTREE, GROUP_GONE = -1001000000001, -1001000000002, -1001000000003
CHUNK = 2_000  # projects generated and written per batch (bounds the generator's memory)
SEED_FORMAT = 1  # bump when the generated data changes (invalidates reused files)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红玉兰文斌宇浩凯"
KINDS = ("创新探索型", "典型示范型", "制度推广型")
TOPICS = ("街巷党建", "红色物业", "党员先锋岗", "邻里互助", "智慧社区", "乡村振兴",
          "基层治理网格", "老旧小区改造", "党群服务中心", "志愿服务")  # fmt: skip
MILESTONES = ("建成党群服务中心", "完成首批街巷整治", "建立党员认领机制", "开展专题培训",
              "完成阶段评估", "形成制度汇编", "全部整治完成", "组织群众满意度测评")  # fmt: skip
PROBLEMS = ("活动场地紧张，需要街道协调", "资金拨付滞后，影响工程进度",
            "部分党员年龄偏大，参与积极性不高", "与物业公司沟通协调难度大",
            "群众诉求多样，整治标准难以统一", "专业人才缺乏，需要上级支持")  # fmt: skip
PROGRESS = ("召开支部委员会研究部署，组织党员开展入户走访{n}户，收集群众意见建议{k}条，"
            "完成{t}项整改任务，阶段性成效明显。")  # fmt: skip
PLAN = "继续推进重点任务，组织党员志愿服务活动{n}次，完善工作台账。"
NOTICE_PROBLEMS = ("月报内容空泛，进展描述不具体", "节点逾期未完成", "连续两个月完成度无变化",
                   "佐证材料缺失", "问题整改不到位")  # fmt: skip


@dataclass(frozen=True)
class SeedSpec:
    """What to generate; the defaults are the benchmark's."""

    orgs: int = 2_000
    year: int = 2026
    seed: int = 20260101
    notices: int | None = None  # default: 200 + orgs // 250
    committee_share: float = 0.01  # 党委 among organizations
    weak_share: float = 0.15  # projects that often do not report
    filed_strong: float = 0.95  # chance a strong project files a month
    filed_weak: float = 0.60
    late_rate: float = 0.08  # of filed reports
    second_version: float = 0.05
    problem_rate: float = 0.20
    stall_rate: float = 0.08
    drop_rate: float = 0.01
    draft_rate: float = 0.03  # unfiled months with an unsubmitted working copy
    exempt_rate: float = 0.003  # organizations exempt in each month
    ballots: int = 10_000  # in one 民主评议 window on project 1

    @property
    def notice_count(self) -> int:
        return self.notices if self.notices is not None else 200 + self.orgs // 250


def iso(epoch: float) -> str:
    """The stored form of a moment (the same string as storage.rows.ts)."""
    return datetime.fromtimestamp(int(epoch), UTC).isoformat(timespec="seconds")


def local_epoch(day: date, hour: int = 0, minute: int = 0) -> float:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).timestamp()


@dataclass(frozen=True)
class _Window:
    opens: float  # epoch seconds
    due_end: float
    closes: float


def _windows(cal: ReportCalendar, year: int) -> list[_Window]:
    out = []
    for m in range(1, 13):
        w = cal.window(Month(year, m))
        out.append(_Window(w.opens_at.timestamp(), w.due_end.timestamp(),
                           w.closes_at.timestamp()))  # fmt: skip
    return out


class _Ids:
    def __init__(self) -> None:
        self.report = 0
        self.version = 0
        self.file = 0

    def next_report(self) -> int:
        self.report += 1
        return self.report

    def next_version(self) -> int:
        self.version += 1
        return self.version

    def next_file(self) -> int:
        self.file += 1
        return self.file


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def org_rows(spec: SeedSpec, stamp: str) -> tuple[list[tuple[Any, ...]], list[int]]:
    """(id, code, name, parent_id, kind, created_at, updated_at) rows, and the 党委 ids."""
    n = spec.orgs
    committees = max(1, round(n * spec.committee_share)) if n > 1 else 0
    rows: list[tuple[Any, ...]] = [(1, "A000001", "市委组织部", None, "组织部", stamp, stamp)]
    committee_ids = list(range(2, 2 + committees))
    for cid in committee_ids:
        rows.append((cid, f"W{cid:06d}", f"第{cid - 1}街道党工委", 1, "党委", stamp, stamp))
    for oid in range(2 + committees, n + 1):
        parent = committee_ids[(oid - 2 - committees) % committees]
        rows.append((oid, f"Z{oid:06d}", f"第{parent - 1}街道第{oid}社区党支部", parent, "党支部",
                     stamp, stamp))  # fmt: skip
    return rows, committee_ids


def _reports_of(
    spec: SeedSpec, rng: random.Random, ids: _Ids, pid: int, user: int, windows: list[_Window],
    exempt_months: set[int], milestones: list[list[Any]],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:  # fmt: skip
    """One project's year of reports: (reports, report_versions, report_files) rows; ticks
    the project's milestones (rows [id, project_id, position, month, content, done_month])."""
    year = spec.year
    filed_p = spec.filed_weak if rng.random() < spec.weak_share else spec.filed_strong
    speed = rng.uniform(0.75, 1.15)
    # The month each milestone is really done (None: not this year).
    targets: list[int | None] = []
    for m in milestones:
        month = int(m[3][5:])
        r = rng.random()
        shift = 0 if r < 0.75 else 1 if r < 0.85 else 2 if r < 0.90 else None
        targets.append(None if shift is None or month + shift > 12 else month + shift)
    reports, versions, files = [], [], []
    last: int | None = None
    for m in range(1, 13):
        period = f"{year:04d}-{m:02d}"
        w = windows[m - 1]
        filed = rng.random() < (0.05 if m in exempt_months else filed_p)
        rid = ids.next_report()
        if not filed:
            if rng.random() < spec.draft_rate and m not in exempt_months:
                created = iso(w.opens + rng.uniform(8 * 3600, 5 * 86400))
                reports.append((rid, pid, period, 0, 1, "已开展入户走访，正在整理材料", "[]", 0,
                                None, None, None, None, 0, None, None, None, user, created,
                                created))  # fmt: skip
            else:
                ids.report -= 1  # no row: give the id back
            continue
        base = max(0, min(100, round(100 * m / 12 * speed + rng.randint(-3, 3))))
        reason = None
        if last is not None and rng.random() < spec.drop_rate and last > 5:
            completion = last - rng.randint(3, 5)
            reason = "上级调整实施方案，部分已完成内容需要返工"
        elif last is not None and rng.random() < spec.stall_rate:
            completion = last
        else:
            completion = max(base, last or 0)
        last = completion
        ticked = [m_[0] for m_, t in zip(milestones, targets, strict=True)
                  if t is not None and t <= m and m_[5] is None]  # fmt: skip
        for m_ in milestones:
            if m_[0] in ticked:
                m_[5] = period
        problems = rng.choice(PROBLEMS) if rng.random() < spec.problem_rate else "无"
        progress = PROGRESS.format(n=rng.randint(10, 300), k=rng.randint(1, 40),
                                   t=rng.randint(1, 9))  # fmt: skip
        plan = PLAN.format(n=rng.randint(1, 6))
        if rng.random() < spec.late_rate:
            first = rng.uniform(w.due_end + 8 * 3600, min(w.due_end + 20 * 86400, w.closes - 3600))
        else:
            first = rng.uniform(w.opens + 8 * 3600, w.due_end - 3 * 3600)
        times = [first]
        if rng.random() < spec.second_version:
            times.append(min(first + rng.uniform(3600, 72 * 3600), w.closes - 60))
        nfiles = rng.choice((0, 1, 1, 2, 3))
        attached = [("photo" if k % 2 == 0 else "document", f"BQACAgUAAx{rid:08d}{k}")
                    for k in range(nfiles)]  # fmt: skip
        ticked_json = json.dumps(ticked)
        for version, moment in enumerate(times, start=1):
            versions.append((ids.next_version(), rid, version, progress, ticked_json, completion,
                             reason, problems, plan, json.dumps([list(f) for f in attached]),
                             user, iso(moment), int(moment < w.due_end)))  # fmt: skip
        for position, (kind, file_id) in enumerate(attached, start=1):
            files.append((ids.next_file(), rid, position, kind, file_id,
                          f"AQAD{rid:08d}{position}"))  # fmt: skip
        reports.append((rid, pid, period, len(times), 0, progress, ticked_json, 1, completion,
                        reason, problems, plan, 1, iso(first), iso(times[-1]),
                        int(first < w.due_end), user, iso(first - rng.uniform(300, 7200)),
                        iso(times[-1])))  # fmt: skip
    return reports, versions, files


def _notice_rows(
    spec: SeedSpec, rng: random.Random, project_ids: Sequence[int]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(notices, notice_events) rows."""
    year, admin = spec.year, ADMINS[0]
    count = min(spec.notice_count, len(project_ids))
    chosen = rng.sample(list(project_ids), count)
    statuses = rng.choices(("draft", "issued", "signed", "answered", "closed"),
                           weights=(5, 20, 20, 15, 40), k=count)  # fmt: skip
    recent = (local_epoch(date(year, 10, 10), 9), local_epoch(date(year, 11, 20), 17))
    whole = (local_epoch(date(year, 2, 1), 9), local_epoch(date(year, 11, 10), 17))
    drafts, issued = [], []
    for pid, status in zip(chosen, statuses, strict=True):
        if status == "draft":
            drafts.append((pid, status, None))
        else:
            span = whole if status == "closed" else recent
            issued.append((pid, status, rng.uniform(*span)))
    issued.sort(key=lambda x: x[2])  # numbers are given in the order of 下发
    notices, events = [], []
    nid = 0
    for seq, (pid, status, at) in enumerate(issued, start=1):
        nid += 1
        user = SECRETARY_BASE + pid
        problem, requirement = rng.choice(NOTICE_PROBLEMS), "请于期限内整改并反馈"
        issued_day = datetime.fromtimestamp(at, SHANGHAI).date()
        deadline = (issued_day + timedelta(days=rng.randint(7, 21))).isoformat()
        signed = answered = closed = None
        feedback, files, round_ = None, "[]", 1
        events.append((nid, "issue", 1, admin, None, "[]", iso(at)))
        if status != "issued":
            signed = at + rng.uniform(3600, 30 * 3600)
            events.append((nid, "sign", 1, user, None, "[]", iso(signed)))
        if status in ("answered", "closed"):
            assert signed is not None  # every notice past 'issued' was signed
            answered = signed + rng.uniform(86400, 6 * 86400)
            feedback = "已召开专题会议研究整改，相关问题已全部整改到位。"
            files = json.dumps([["photo", f"AgACAgUAAx{nid:06d}", f"AQAD{nid:06d}"]])
            events.append((nid, "answer", 1, user, feedback, files, iso(answered)))
            if status == "closed" and rng.random() < 0.2:
                back = answered + rng.uniform(3600, 86400)
                events.append((nid, "return", 1, admin, "整改措施不具体，请补充", "[]",
                               iso(back)))  # fmt: skip
                round_ = 2
                answered = back + rng.uniform(86400, 3 * 86400)
                events.append((nid, "answer", 2, user, feedback, files, iso(answered)))
        if status == "closed":
            assert answered is not None  # a closed notice was answered
            closed = answered + rng.uniform(86400, 4 * 86400)
            events.append((nid, "close", round_, admin, None, "[]", iso(closed)))
        notices.append((nid, year, seq, pid, problem, requirement, deadline, status, round_,
                        feedback, files, admin, iso(at - 600), iso(at),
                        iso(signed) if signed else None, iso(answered) if answered else None,
                        iso(closed) if closed else None))  # fmt: skip
    created = iso(local_epoch(date(year, 11, 24), 10))
    for pid, _, _ in drafts:
        nid += 1
        notices.append((nid, None, None, pid, rng.choice(NOTICE_PROBLEMS), None, None, "draft", 1,
                        None, "[]", admin, created, None, None, None, None))  # fmt: skip
    return notices, events


async def _many(conn: Connection, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    if rows:
        await conn.executemany(sql, rows)


def _insert(table: str, columns: str) -> str:
    count = len(columns.split(","))
    return f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * count)})"


SQL_ORGS = _insert("orgs", "id, code, name, parent_id, kind, created_at, updated_at")
SQL_PEOPLE = _insert("people", "user_id, full_name, username, role, org_id, created_at, updated_at")
SQL_PROJECTS = _insert(
    "projects",
    "id, org_id, status, number_year, number_seq, name, kind, problem, measures, targets, "
    "start_month, end_month, milestones_set, round, created_by, created_at, updated_at, "
    "submitted_at, approved_at, owed_from",
)
SQL_REVIEWS = _insert("project_reviews", "project_id, action, round, by_user, reason, at")
SQL_MILESTONES = _insert("milestones", "id, project_id, position, month, content, done_month")
SQL_REPORTS = _insert(
    "reports",
    "id, project_id, period, version, editing, progress, milestones_done, milestones_set, "
    "completion, completion_reason, problems, plan, files_set, first_submitted_at, "
    "submitted_at, on_time, created_by, created_at, updated_at",
)
SQL_VERSIONS = _insert(
    "report_versions",
    "id, report_id, version, progress, milestones_done, completion, completion_reason, "
    "problems, plan, files, submitted_by, submitted_at, on_time",
)
SQL_FILES = _insert("report_files", "id, report_id, position, kind, file_id, file_unique_id")
SQL_NOTICES = _insert(
    "notices",
    "id, year, seq, project_id, problem, requirement, deadline, status, round, feedback, "
    "feedback_files, created_by, created_at, issued_at, signed_at, answered_at, closed_at",
)
SQL_EVENTS = _insert("notice_events", "notice_id, action, round, by_user, text, files, at")
SQL_GROUPS = _insert("supervisor_groups", "chat_id, title, root_org_id, bound_by, bound_at, active")
SQL_EXEMPT = _insert("exemptions", "org_id, period, reason, by_user, at")
SQL_VOTES = _insert("public_votes", "id, project_id, opens_at, closes_at, changes, final, "
                    "created_by, created_at")  # fmt: skip
SQL_BALLOTS = _insert("public_ballots", "vote_id, user_id, full_name, username, choice, times, "
                      "first_at, at")  # fmt: skip


def ballot_rows(spec: SeedSpec) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(public_votes, public_ballots) rows: one week-long window on project 1 in November,
    a ballot a minute, every tenth changed once; drawn from no random state, so the rows
    before them stay as they were."""
    if not spec.ballots:
        return [], []
    opens = local_epoch(date(spec.year, 11, 2), 9)
    week = 7 * 86400
    votes = [(1, 1, iso(opens), iso(opens + week), spec.ballots, 0, ADMINS[0], iso(opens))]
    ballots = []
    for k in range(spec.ballots):
        first = opens + (60 * k) % week
        changed = k % 10 == 0
        ballots.append((1, 700_000_000 + k, f"群众{k}", f"voter{k}" if k % 3 == 0 else None,
                        "sbu"[k % 3], 2 if changed else 1, iso(first),
                        iso(first + 600 if changed else first)))  # fmt: skip
    return votes, ballots


async def seed_database(path: str | Path, spec: SeedSpec) -> dict[str, Any]:
    """Create `path` (must not exist) and fill it; return row counts and timings."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists: seed a new file")
    started = time.perf_counter()
    rng = random.Random(spec.seed)
    cal = ReportCalendar(tz=SHANGHAI)
    windows = _windows(cal, spec.year)
    year = spec.year
    stamp = iso(local_epoch(date(year - 1, 11, 20), 10))
    submitted = iso(local_epoch(date(year - 1, 12, 5), 10))
    approved = iso(local_epoch(date(year - 1, 12, 15), 16))
    owed_from = str(cal.first_owed(datetime.fromisoformat(approved)))
    counts: dict[str, int] = {}
    db = await Database.open(path)
    try:
        # Only this seeding connection: a large page cache for the bulk index inserts.
        await db.write(lambda conn: conn.execute("PRAGMA cache_size = -262144"), marked=False)
        orgs, committees = org_rows(spec, stamp)
        people = [(SECRETARY_BASE + oid, _name(rng), None if rng.random() < 0.3 else f"sec{oid}",
                   "secretary", oid, stamp, stamp) for oid, *_ in orgs]  # fmt: skip
        people += [(a, f"管理员{i}", None, "admin", None, stamp, stamp)
                   for i, a in enumerate(ADMINS, start=1)]  # fmt: skip
        projects = []
        for oid, *_ in orgs:
            topic = rng.choice(TOPICS)
            projects.append((
                oid, oid, "approved", year, oid, f"“{topic}”书记项目（{oid}）", rng.choice(KINDS),
                f"{topic}方面群众反映强烈的问题长期得不到解决",
                "成立专项工作组，建立问题清单和销号机制",
                "年内完成重点任务，群众满意率达到 90% 以上", f"{year:04d}-01", f"{year:04d}-12",
                1, 1, SECRETARY_BASE + oid, stamp, approved, submitted, approved, owed_from,
            ))  # fmt: skip
        reviews = [row for oid, *_ in orgs for row in (
            (oid, "submit", 1, SECRETARY_BASE + oid, None, submitted),
            (oid, "approve", 1, ADMINS[0], None, approved))]  # fmt: skip
        exempt_rows = []
        exempt_by_org: dict[int, set[int]] = {}
        per_month = round(spec.orgs * spec.exempt_rate)
        for m in range(1, 13):
            for oid in sorted(rng.sample(range(1, spec.orgs + 1), min(per_month, spec.orgs))):
                exempt_by_org.setdefault(oid, set()).add(m)
                exempt_rows.append((oid, f"{year:04d}-{m:02d}", rng.choice(("换届", "合并撤销")),
                                    ADMINS[0], iso(windows[m - 1].opens - 86400)))  # fmt: skip
        groups = [
            (GROUP_ALL, "全市书记项目督导群", None, ADMINS[0], stamp, 1),
            (GROUP_SUBTREE, f"{orgs[1][2]}督导群" if committees else "督导群",
             committees[0] if committees else 1, ADMINS[0], stamp, 1),
            (GROUP_GONE, "旧督导群", committees[-1] if committees else 1, ADMINS[1], stamp, 0),
        ]  # fmt: skip
        async with db.transaction(marked=False) as conn:
            await _many(conn, SQL_ORGS, orgs)
            await _many(conn, SQL_PEOPLE, people)
            await _many(conn, SQL_PROJECTS, projects)
            await _many(conn, SQL_REVIEWS, reviews)
            await _many(conn, SQL_EXEMPT, exempt_rows)
            await _many(conn, SQL_GROUPS, groups)
        counts.update(orgs=len(orgs), people=len(people), projects=len(projects),
                      project_reviews=len(reviews), exemptions=len(exempt_rows),
                      supervisor_groups=len(groups))  # fmt: skip
        logger.info("seed: %d orgs, people, projects written (%.1f s)", len(orgs),
                    time.perf_counter() - started)  # fmt: skip
        ids = _Ids()
        for key in ("milestones", "reports", "report_versions", "report_files"):
            counts[key] = 0
        for start in range(0, len(projects), CHUNK):
            ms_rows: list[tuple[Any, ...]] = []
            rep_rows: list[tuple[Any, ...]] = []
            ver_rows: list[tuple[Any, ...]] = []
            file_rows: list[tuple[Any, ...]] = []
            for p in projects[start : start + CHUNK]:
                pid = p[0]
                months = (rng.randint(2, 4), rng.randint(5, 8), rng.randint(10, 12))
                contents = rng.sample(MILESTONES, 3)
                milestones = [[3 * (pid - 1) + k + 1, pid, k + 1, f"{year:04d}-{mo:02d}",
                               contents[k], None] for k, mo in enumerate(months)]  # fmt: skip
                r, v, f = _reports_of(spec, rng, ids, pid, SECRETARY_BASE + pid, windows,
                                      exempt_by_org.get(pid, set()), milestones)  # fmt: skip
                ms_rows.extend(tuple(m) for m in milestones)
                rep_rows += r
                ver_rows += v
                file_rows += f
            async with db.transaction(marked=False) as conn:
                await _many(conn, SQL_MILESTONES, ms_rows)
                await _many(conn, SQL_REPORTS, rep_rows)
                await _many(conn, SQL_VERSIONS, ver_rows)
                await _many(conn, SQL_FILES, file_rows)
            counts["milestones"] += len(ms_rows)
            counts["reports"] += len(rep_rows)
            counts["report_versions"] += len(ver_rows)
            counts["report_files"] += len(file_rows)
            if (start // CHUNK) % 10 == 9:
                logger.info("seed: %d/%d projects' reports written (%.1f s)", start + CHUNK,
                            len(projects), time.perf_counter() - started)  # fmt: skip
        branch_ids = [p[0] for p in projects if p[0] > 1 + len(committees)] or [1]
        notice_rows, event_rows = _notice_rows(spec, rng, branch_ids)
        async with db.transaction(marked=False) as conn:
            await _many(conn, SQL_NOTICES, notice_rows)
            await _many(conn, SQL_EVENTS, event_rows)
        counts.update(notices=len(notice_rows), notice_events=len(event_rows))
        vote_rows, ballot_list = ballot_rows(spec)
        async with db.transaction(marked=False) as conn:
            await _many(conn, SQL_VOTES, vote_rows)
            await _many(conn, SQL_BALLOTS, ballot_list)
        counts.update(public_votes=len(vote_rows), public_ballots=len(ballot_list))
    finally:  # closing the last connection checkpoints the WAL into the file
        await db.close()
    seconds = time.perf_counter() - started
    size = path.stat().st_size
    logger.info("seed: %s written in %.1f s (%.0f MB)", path, seconds, size / 1e6)
    return {"spec": asdict(spec), "format": SEED_FORMAT, "rows": counts,
            "seconds": round(seconds, 3), "db_bytes": size}  # fmt: skip


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.seed",
                                     description=__doc__.split("\n\n")[0])  # fmt: skip
    parser.add_argument("--orgs", type=int, default=SeedSpec.orgs)
    parser.add_argument("--db", type=Path, required=True, help="the file to create")
    parser.add_argument("--seed", type=int, default=SeedSpec.seed)
    parser.add_argument("--year", type=int, default=SeedSpec.year)
    parser.add_argument("--notices", type=int, default=None)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(message)s")  # fmt: skip
    spec = SeedSpec(orgs=args.orgs, year=args.year, seed=args.seed, notices=args.notices)
    result = asyncio.run(seed_database(args.db, spec))
    print(json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
