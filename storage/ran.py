"""The one rule for "owed a report for month M" (`ran_in`), shared by every query that asks it:
the bulletins, the ledger, /reports and /projects 未报, whatever month they look at."""

from __future__ import annotations

# Every project that was 立项: running, since concluded or accepted, or terminated.
APPROVED_OR_TERMINATED = "('approved', 'concluded', 'accepted', 'terminated')"
# The first month a project owes no report: the month it was terminated, or the month its
# closing report was accepted (结题); NULL while it runs.
ENDED_MONTH = (
    "coalesce((SELECT ran_t.month FROM terminations ran_t WHERE ran_t.project_id = p.id), "
    "(SELECT ran_c.accepted_month FROM closing_reports ran_c WHERE ran_c.project_id = p.id))"
)


def since_approved(period: str) -> str:
    """`p` was 立项 before the deadline of the month `period` (an SQL expression): the months
    before `p.owed_from` (bot/services/calendar.py first_owed) are neither owed nor late."""
    return f"p.owed_from <= {period}"


def ran_in(period: str) -> str:
    """The one SQL condition on `p` (a projects row) for "the project owed a report for the
    month `period`" (an SQL expression, e.g. ':t'), by what it was then rather than by its
    status now: 立项 before the month's deadline (`p.owed_from`, the first such month) and not
    yet ended; of the month it ended in (ENDED_MONTH) only a report filed for it counts.
    Whether the project's span covers the month is the caller's."""
    return (
        f"({since_approved(period)} AND "
        f"(p.status = 'approved' OR (p.status IN {APPROVED_OR_TERMINATED} AND "
        f"({ENDED_MONTH} IS NULL OR {period} < {ENDED_MONTH} OR ({period} = {ENDED_MONTH} "
        "AND EXISTS (SELECT 1 FROM reports ran_r WHERE ran_r.project_id = p.id "
        f"AND ran_r.period = {period} AND ran_r.version > 0))))))"
    )


# Running now (not ended): who the clock reminds today. A past month asks `owed_in` instead.
RUNNING_NOW = "p.status = 'approved'"


def owed_in(period: str) -> str:
    """`ran_in` and the project's span covers the month `period` (an SQL expression)."""
    return f"{ran_in(period)} AND p.start_month <= {period} AND p.end_month >= {period}"
