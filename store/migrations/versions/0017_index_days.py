"""The Decision 766 index's daily facts, and officers' worklists from an index.

`index_days` holds, per local day, deciding agency, receiving centre and procedure, the
counters of the dossiers counted on that day (finished ones on the day their processing
ended, by month of receipt and of appointment; unfinished ones on the day of their
appointment): the month's index sums them
(store.index). Backfilled here from every received dossier with the same expressions the
read model keeps them with (store.index.day_counters and late_clause; a migration does not
import the application's code, which will move on). `ix_dossiers_index_open_due` covers the
unfinished dossiers by their appointment (those due on the judging day are judged by the
hour); `ix_dossiers_worklist` the open dossiers on someone's worklist by the agency and
role of their current step.

Revision ID: 0017_index_days
Revises: 0016_agency_validity
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_index_days"
down_revision: str | Sequence[str] | None = "0016_agency_validity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTERS = (
    "received",
    "finished",
    "late_before",
    "late_after",
    "unfinished_late_before",
    "unfinished_late_after",
    "multiple_supplements",
    "online",
    "online_result",
    "paid_online",
    "with_result",
    "e_result",
    "upload",
    "upload_result",
    "reused",
    "unhappy",
    "resolution_total",
    "resolution_count",
)

WORKLIST_WHERE = (
    "closed_at IS NULL AND status NOT IN ('supplement_requested', 'financial_obligation')"
)
WORKLIST_INCLUDE = [
    "code",
    "escalated",
    "overdue",
    "step_due_at",
    "appointment_at",
    "received_at",
    "assignee_id",
    "procedure_code",
    "status",
]

ENDED = "coalesce(processed_at, closed_at)"

# What the index reads of a dossier (store.models.INDEX_INCLUDE, as of this revision).
INDEX_INCLUDE = (
    "code",
    "received_at",
    "competent_agency",
    "centre_agency",
    "procedure_code",
    "procedure_name",
    "processed_at",
    "closed_at",
    "appointment_at",
    "supplement_requests",
    "overdue",
    "status",
    "channel",
    "outcome",
    "resolution_minutes",
    "fact_result",
    "fact_upload",
    "fact_reused",
    "fact_paid_online",
    "fact_unhappy",
)


def _late(otherwise: str) -> str:
    """late_clause judged after the end of time: finished dossiers as they ended,
    unfinished ones by their appointment `otherwise` (1: judged after it, 0: before)."""
    return (
        "CASE WHEN supplement_requests > 1 THEN 1"
        " WHEN appointment_at IS NULL THEN (CASE WHEN overdue THEN 1 ELSE 0 END)"
        f" WHEN {ENDED} IS NOT NULL THEN (CASE WHEN {ENDED} > appointment_at THEN 1 ELSE 0 END)"
        " WHEN status = 'supplement_requested' THEN (CASE WHEN overdue THEN 1 ELSE 0 END)"
        f" ELSE {otherwise} END"
    )


def _late_unfinished(otherwise: str) -> str:
    """late_clause judging a finished dossier as unfinished (a period it finished after)."""
    return (
        "CASE WHEN supplement_requests > 1 THEN 1"
        " WHEN appointment_at IS NULL THEN (CASE WHEN overdue THEN 1 ELSE 0 END)"
        " WHEN status = 'supplement_requested' THEN (CASE WHEN overdue THEN 1 ELSE 0 END)"
        f" ELSE {otherwise} END"
    )


def backfill(dialect: str) -> str:
    def day(at: str) -> str:
        if dialect == "postgresql":
            return f"CAST(timezone('Asia/Ho_Chi_Minh', {at}) AS date)"
        return f"date({at}, '+7 hours')"  # SQLite holds UTC; Vietnam keeps UTC+7

    def month(at: str) -> str:
        if dialect == "postgresql":
            return f"CAST(date_trunc('month', timezone('Asia/Ho_Chi_Minh', {at})) AS date)"
        return f"date({at}, '+7 hours', 'start of month')"

    no_day = "DATE '0001-01-01'" if dialect == "postgresql" else "'0001-01-01'"
    finished = f"{ENDED} IS NOT NULL"
    with_result = (
        f"{finished} AND (outcome IS NULL OR outcome NOT IN"
        " ('withdrawn', 'not_received', 'abandoned'))"
    )
    counters = [
        "1",
        f"CASE WHEN {finished} THEN 1 ELSE 0 END",
        _late("0"),
        _late("1"),
        _late_unfinished("0"),
        _late_unfinished("1"),
        "CASE WHEN supplement_requests > 1 THEN 1 ELSE 0 END",
        "CASE WHEN channel = 'online' THEN 1 ELSE 0 END",
        "CASE WHEN channel = 'online' AND fact_result THEN 1 ELSE 0 END",
        "CASE WHEN fact_paid_online THEN 1 ELSE 0 END",
        f"CASE WHEN {with_result} THEN 1 ELSE 0 END",
        f"CASE WHEN {with_result} AND fact_result THEN 1 ELSE 0 END",
        "CASE WHEN fact_upload THEN 1 ELSE 0 END",
        "CASE WHEN fact_upload AND fact_result THEN 1 ELSE 0 END",
        "CASE WHEN fact_reused THEN 1 ELSE 0 END",
        "CASE WHEN fact_unhappy THEN 1 ELSE 0 END",
        f"CASE WHEN {finished} THEN coalesce(resolution_minutes, 0) ELSE 0 END",
        f"CASE WHEN {finished} AND resolution_minutes IS NOT NULL THEN 1 ELSE 0 END",
    ]
    keys = [
        f"({ENDED} IS NULL)",
        f"CASE WHEN {finished} THEN {day(ENDED)}"
        f" WHEN appointment_at IS NOT NULL THEN {day('appointment_at')} ELSE {no_day} END",
        f"CASE WHEN {finished} THEN {month('received_at')} ELSE {no_day} END",
        f"CASE WHEN {finished} AND appointment_at IS NOT NULL THEN {month('appointment_at')}"
        f" ELSE {no_day} END",
        "competent_agency",
        "centre_agency",
        "procedure_code",
        "procedure_name",
    ]
    return (
        "INSERT INTO index_days (open, day, received_month, appointment_month,"
        " competent_agency, centre_agency, procedure_code,"
        f" procedure_name, {', '.join(COUNTERS)})"
        f" SELECT {', '.join(keys)}, {', '.join(f'sum({c})' for c in counters)}"
        " FROM dossiers WHERE received_at IS NOT NULL"
        f" GROUP BY {', '.join(keys)}"
    )


def upgrade() -> None:
    op.create_table(
        "index_days",
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("received_month", sa.Date(), nullable=False),
        sa.Column("appointment_month", sa.Date(), nullable=False),
        sa.Column("competent_agency", sa.String(), nullable=False),
        sa.Column("centre_agency", sa.String(), nullable=False),
        sa.Column("procedure_code", sa.String(), nullable=False),
        sa.Column("procedure_name", sa.String(), nullable=False),
        *(
            sa.Column(
                name,
                sa.BigInteger() if name == "resolution_total" else sa.Integer(),
                nullable=False,
            )
            for name in COUNTERS
        ),
        sa.PrimaryKeyConstraint(
            "open",
            "day",
            "received_month",
            "appointment_month",
            "competent_agency",
            "centre_agency",
            "procedure_code",
            "procedure_name",
        ),
    )
    op.execute(backfill(op.get_bind().dialect.name))
    op.create_index(
        "ix_dossiers_index_open_due",
        "dossiers",
        ["appointment_at"],
        postgresql_include=[c for c in INDEX_INCLUDE if c != "appointment_at"],
        postgresql_where=sa.text("processed_at IS NULL AND closed_at IS NULL"),
        sqlite_where=sa.text("processed_at IS NULL AND closed_at IS NULL"),
    )
    op.create_index(
        "ix_dossiers_worklist",
        "dossiers",
        ["current_agency", "current_role"],
        postgresql_include=WORKLIST_INCLUDE,
        postgresql_where=sa.text(WORKLIST_WHERE),
        sqlite_where=sa.text(WORKLIST_WHERE),
    )


def downgrade() -> None:
    op.drop_index("ix_dossiers_worklist", table_name="dossiers")
    op.drop_index("ix_dossiers_index_open_due", table_name="dossiers")
    op.drop_table("index_days")
