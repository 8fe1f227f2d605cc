"""The Decision 766/QĐ-TTg counts, in SQL over the read model (one pass, grouped by the
deciding agency and procedure): the numerators and denominators of the on-time,
online-submission, online-payment, electronic-result, digitisation, reuse and
satisfaction figures. `services.index` turns them into the published rates.

Which dossiers count in a period [start, end): those actually received before `end`
and not finished before `start` (received in the period, or carried over into it).
The end of processing is `processed_at` ("Đã xử lý xong"), else the stop time.

Late is one definition (`late_clause`), used by the index and by the late list
(`late_codes`): more than one supplement request; or finished after the appointment; or
unfinished and past the appointment at the instant it is judged, the period's end, or now
for a period still running (a dossier due later this month is on time today).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import (
    Connection,
    Date,
    Engine,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from domain.calendar import VIETNAM_TZ
from store.models import (
    DAY_COUNTERS,
    DocumentRow,
    DossierRow,
    EventRow,
    FeedbackRow,
    IndexDayRow,
    RatingRow,
)


class IndexCounts(BaseModel):
    agency: str
    procedure_code: str
    procedure_name: str
    received: int
    finished: int  # processing ended within the period
    on_time: int
    multiple_supplements: int
    online: int  # received online, with an electronic result where the result is a document
    fee_bearing: int
    paid_online: int
    result_required: int  # finished dossiers of procedures whose result is a document
    e_result: int
    digitised: int
    reused: int
    complained_or_disliked: int
    resolution_minutes_total: int
    resolution_minutes_count: int


# How a dossier ended without a result to deliver: not in the e-result denominator.
NO_RESULT_OUTCOMES = ("withdrawn", "not_received", "abandoned")


def judged_at(end: datetime, now: datetime | None) -> datetime:
    """The instant unfinished dossiers are judged at: the period's end, or now while the
    period is still running."""
    return min(end, now or datetime.now(UTC))


def late_clause(
    end: datetime, now: datetime | None = None, d: Any = None, *, ended_before: Any = None
) -> Any:
    """Whether a dossier of the period [.., end) is late (Decision 766, DOMAIN.md §1.9),
    as a SQL condition over `dossiers`: more than one supplement request; finished (before
    `end`) after its appointment; or unfinished and past it at `judged_at(end, now)`
    (waiting for the applicant's supplement: as the machine judged it at the request).
    With no appointment, the machine's own `overdue` flag. `d`: the columns it reads
    (`dossiers`' own by default, or those of `period_rows`). `ended_before`: finished
    before this instant rather than `end` (the daily facts judge a finished dossier as
    the period it finished after judges it)."""
    d = DossierRow.__table__.c if d is None else d  # type: ignore[attr-defined]
    at = judged_at(end, now)
    ended = func.coalesce(d.processed_at, d.closed_at)
    finished = and_(ended.is_not(None), ended < (end if ended_before is None else ended_before))
    return case(
        (d.supplement_requests > 1, True),
        (d.appointment_at.is_(None), d.overdue.is_(True)),
        (finished, ended > d.appointment_at),
        (d.status == "supplement_requested", d.overdue.is_(True)),
        else_=d.appointment_at < at,
    )


def pakn_late(end: datetime, now: datetime | None = None) -> Any:
    """A PAKN item late (Decision 766 index 5.2): answered after its deadline, or
    unanswered and past it at `judged_at(end, now)`. Items from before revision 0011_feedback have
    no deadline and are never late."""
    f = FeedbackRow.__table__.c  # type: ignore[attr-defined]
    at = judged_at(end, now)
    return and_(
        f.due_at.is_not(None),
        or_(
            and_(f.answered_at.is_not(None), f.answered_at > f.due_at),
            and_(f.answered_at.is_(None), f.due_at < at),
        ),
    )


class FeedbackCounts(BaseModel):
    """PAKN items of one answering agency in a period (Decision 766 index 5.1–5.2)."""

    agency: str
    received: int  # filed in the period
    complaints: int
    suggestions: int
    answered: int  # of those, answered (and published) before the period's end
    answered_on_time: int
    late: int  # answered late, or unanswered past the deadline when judged
    open: int  # unanswered when judged


def feedback_counts(
    engine: Engine,
    start: datetime,
    end: datetime,
    *,
    agency: str | None = None,
    now: datetime | None = None,
) -> list[FeedbackCounts]:
    """Per answering agency, the PAKN items filed in [start, end) (those with a workflow)."""
    f = FeedbackRow.__table__.c  # type: ignore[attr-defined]
    answered = and_(f.answered_at.is_not(None), f.answered_at < end)

    def total(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    stmt = (
        select(
            f.agency,
            func.count(),
            total(f.kind == "complaint"),
            total(f.kind == "suggestion"),
            total(answered),
            total(and_(answered, f.answered_at <= f.due_at)),
            total(pakn_late(end, now)),
            total(~answered),
        )
        .where(f.code.is_not(None), f.at >= start, f.at < end)
        .group_by(f.agency)
        .order_by(f.agency)
    )
    if agency is not None:
        stmt = stmt.where(f.agency == agency)
    fields = list(FeedbackCounts.model_fields)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [FeedbackCounts.model_validate(dict(zip(fields, row, strict=True))) for row in rows]


def counted_in(start: datetime, end: datetime) -> Any:
    """The dossiers a period [start, end) counts: received before its end and not
    finished before its start."""
    d = DossierRow.__table__.c  # type: ignore[attr-defined]
    ended = func.coalesce(d.processed_at, d.closed_at)
    return and_(
        d.received_at.is_not(None), d.received_at < end, or_(ended.is_(None), ended >= start)
    )


FACTS = ("fact_result", "fact_upload", "fact_reused", "fact_paid_online", "fact_unhappy")
# What the index and the late list read of a dossier: the covering indexes of
# store.models.DossierRow hold them all, so PostgreSQL answers from the indexes alone.
INDEX_COLUMNS = (
    "code",
    "competent_agency",
    "centre_agency",
    "procedure_code",
    "procedure_name",
    "received_at",
    "processed_at",
    "closed_at",
    "appointment_at",
    "supplement_requests",
    "overdue",
    "status",
    "channel",
    "outcome",
    "resolution_minutes",
    *FACTS,
)


def period_rows(start: datetime, end: datetime, names: Collection[str] = INDEX_COLUMNS) -> Any:
    """`counted_in(start, end)` as two disjoint parts, each served by an index-only scan
    of its covering index: the dossiers finished since `start` (by their end of
    processing) received before `end`, and the unfinished ones received before `end` (a
    partial index). One scan of the month's rows, not of every dossier received before it."""
    d = DossierRow.__table__.c  # type: ignore[attr-defined]
    columns = [d[name] for name in names]  # only what is read: a UNION keeps every column
    ended = func.coalesce(d.processed_at, d.closed_at)
    finished = select(*columns).where(ended >= start, d.received_at < end)
    unfinished = select(*columns).where(
        d.processed_at.is_(None), d.closed_at.is_(None), d.received_at < end
    )
    return union_all(finished, unfinished).subquery("counted")


def _for_a_month(conn: Connection) -> None:
    """On PostgreSQL, for this transaction: no JIT (it compiles the index's many CASE sums
    on every run, about a second on a busy machine, more than the query itself), and
    memory enough to aggregate a month's rows in a hash table rather than sort them on
    disk (the 4 MB default spills about 35 MB on a million dossiers)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL jit = off")
        conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")


# The facts a dossier's documents alone decide (refreshed when documents are recorded).
DOCUMENT_FACTS = ("fact_result", "fact_upload", "fact_reused")


def fact_conditions() -> dict[str, Any]:
    """The index's facts of a dossier's other rows, as SQL conditions correlated to
    `dossiers`: a result document; an uploaded or database-taken component (NQ 66.7/2025:
    each component's source is recorded for the 766 reuse figure); one of them reusing
    digitised data; an online payment (the portal's, recorded by the system); a complaint
    or a "dislike"."""
    d = DossierRow.__table__.c  # type: ignore[attr-defined]
    components = col(DocumentRow.source).in_(("upload", "database"))
    return {
        "fact_result": exists().where(
            col(DocumentRow.dossier_code) == d.code, col(DocumentRow.source) == "result"
        ),
        "fact_upload": exists().where(col(DocumentRow.dossier_code) == d.code, components),
        "fact_reused": exists().where(
            col(DocumentRow.dossier_code) == d.code, components, col(DocumentRow.reused).is_(True)
        ),
        "fact_paid_online": exists().where(
            col(EventRow.dossier_code) == d.code,
            col(EventRow.kind) == "pay",
            col(EventRow.role) == "system",
        ),
        "fact_unhappy": or_(
            exists().where(
                col(FeedbackRow.dossier_code) == d.code, col(FeedbackRow.kind) == "complaint"
            ),
            exists().where(
                col(RatingRow.dossier_code) == d.code, col(RatingRow.rating) == "dislike"
            ),
        ),
    }


def refresh_facts(
    conn: Connection, codes: Collection[str] | None = None, only: Collection[str] | None = None
) -> None:
    """Recompute the kept facts of these dossiers (all with None) from their rows, and
    their daily facts, in the caller's transaction: called wherever a document, an event,
    a rating or a complaint is recorded, so a fact never lags the rows it sums up. `only`:
    just these facts (a document's write reads no other table than its own: it never
    waits on the events)."""
    if codes is not None and not codes:
        return
    with kept_days(conn, codes):
        update_facts(conn, codes, only)


def update_facts(
    conn: Connection, codes: Collection[str] | None = None, only: Collection[str] | None = None
) -> None:
    """The kept facts of `refresh_facts`, alone: inside `kept_days`."""
    d = DossierRow.__table__.c  # type: ignore[attr-defined]
    facts = fact_conditions()
    if only is not None:
        facts = {name: facts[name] for name in only}
    stmt = update(DossierRow.__table__).values(**facts)  # type: ignore[attr-defined]
    if codes is not None:
        if not codes:
            return
        stmt = stmt.where(d.code.in_(sorted(set(codes))))
    conn.execute(stmt)


# --- Daily facts ---------------------------------------------------------------------
#
# A month's index sums `index_days` (store.models.IndexDayRow) over its days instead of
# reading each of its dossiers: a finished dossier is counted on the local day its
# processing ended, an unfinished one on the day of its appointment (late_before: late
# whenever it is judged on that day; late_after: late once that day is over). A dossier's
# counters are `day_counters` over its own row, the same expressions for every dossier
# and judged by `late_clause`, so the one definition of late holds; `kept_days` adds a
# changed dossier's new counters and takes back its old ones in the transaction that
# changes its row, and `rebuild_days` recomputes them all (tests: equal).

LOCAL = ZoneInfo(VIETNAM_TZ)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # judged before any appointment
FAR = datetime(9999, 1, 1, tzinfo=UTC)  # judged after every appointment
NO_DAY = date(1, 1, 1)  # the day of an unfinished dossier without an appointment
DAY_KEY = (
    "open",
    "day",
    "received_month",
    "appointment_month",
    "competent_agency",
    "centre_agency",
    "procedure_code",
    "procedure_name",
)
NUMBERS = [
    f for f in IndexCounts.model_fields if f not in ("agency", "procedure_code", "procedure_name")
]

# The counters summed before the procedure's kind is applied (`_mapped`).
RAW = (
    "received",
    "finished",
    "late",
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

DayKey = tuple[bool, date, date, date, str, str, str, str]
Group = tuple[str, str, str]  # deciding agency, procedure code and name


def local_day(at: datetime) -> date:
    return at.astimezone(LOCAL).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, dt_time(0), LOCAL)


def local_month(at: datetime | None) -> date:
    return local_day(at).replace(day=1) if at is not None else NO_DAY


def _one(condition: Any) -> Any:
    return case((condition, 1), else_=0)


def day_counters(d: Any = None) -> dict[str, Any]:
    """A dossier's counters in the daily facts (store.models.DAY_COUNTERS), as SQL over
    `dossiers`' columns `d`."""
    d = DossierRow.__table__.c if d is None else d  # type: ignore[attr-defined]
    finished = func.coalesce(d.processed_at, d.closed_at).is_not(None)
    with_result = and_(finished, d.outcome.is_(None) | d.outcome.not_in(NO_RESULT_OUTCOMES))
    counters = {
        "received": literal(1),
        "finished": _one(finished),
        # Judged before and after every instant of the day: a finished dossier is late or
        # not whenever it is judged (late_clause), an unfinished one by its appointment.
        "late_before": _one(late_clause(FAR, EPOCH, d)),
        "late_after": _one(late_clause(FAR, FAR, d)),
        # A finished dossier judged as unfinished (by a period it finished after).
        "unfinished_late_before": _one(late_clause(FAR, EPOCH, d, ended_before=EPOCH)),
        "unfinished_late_after": _one(late_clause(FAR, FAR, d, ended_before=EPOCH)),
        "multiple_supplements": _one(d.supplement_requests > 1),
        "online": _one(d.channel == "online"),
        "online_result": _one(and_(d.channel == "online", d.fact_result)),
        "paid_online": _one(d.fact_paid_online),
        "with_result": _one(with_result),
        "e_result": _one(and_(with_result, d.fact_result)),
        "upload": _one(d.fact_upload),
        "upload_result": _one(and_(d.fact_upload, d.fact_result)),
        "reused": _one(d.fact_reused),
        "unhappy": _one(d.fact_unhappy),
        "resolution_total": case((finished, func.coalesce(d.resolution_minutes, 0)), else_=0),
        "resolution_count": _one(and_(finished, d.resolution_minutes.is_not(None))),
    }
    assert tuple(counters) == DAY_COUNTERS
    return counters


def _contributions(conn: Connection, codes: list[str]) -> dict[DayKey, list[int]]:
    """The daily facts these dossiers' rows add up to now, by day key."""
    d = DossierRow.__table__.c  # type: ignore[attr-defined]
    ended = func.coalesce(d.processed_at, d.closed_at)
    stmt = select(
        d.received_at,
        ended,
        d.appointment_at,
        d.competent_agency,
        d.centre_agency,
        d.procedure_code,
        d.procedure_name,
        *day_counters(d).values(),
    ).where(d.code.in_(codes))
    out: dict[DayKey, list[int]] = {}
    for row in conn.execute(stmt):
        received, end_at, appointment = row[0], row[1], row[2]
        if received is None:  # not received: in no period (counted_in)
            continue
        if end_at is not None:
            months = (local_month(received), local_month(appointment))
            key: DayKey = (False, local_day(end_at), *months, *row[3:7])
        else:
            day = local_day(appointment) if appointment is not None else NO_DAY
            key = (True, day, NO_DAY, NO_DAY, *row[3:7])
        values = [int(v or 0) for v in row[7:]]
        out[key] = [a + b for a, b in zip(out.get(key, [0] * len(values)), values, strict=True)]
    return out


def _dialect_insert(conn: Connection) -> Any:
    table = IndexDayRow.__table__  # type: ignore[attr-defined]
    if conn.dialect.name == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)


def _add_days(conn: Connection, delta: dict[DayKey, list[int]]) -> None:
    """Add `delta` to the daily facts (an upsert per key, in key order: concurrent
    writers lock the rows in one order); a day key left counting no dossier goes."""
    table = IndexDayRow.__table__  # type: ignore[attr-defined]
    ins = _dialect_insert(conn)
    stmt = ins.on_conflict_do_update(
        index_elements=list(DAY_KEY),
        set_={c: table.c[c] + ins.excluded[c] for c in DAY_COUNTERS},
    ).returning(table.c.received)
    for key, values in sorted(delta.items()):
        if not any(values):
            continue
        received = conn.execute(
            stmt,
            {
                **dict(zip(DAY_KEY, key, strict=True)),
                **dict(zip(DAY_COUNTERS, values, strict=True)),
            },
        ).scalar_one()
        if received == 0:
            conn.execute(
                delete(table).where(*(table.c[k] == v for k, v in zip(DAY_KEY, key, strict=True)))
            )


@contextmanager
def kept_days(conn: Connection, codes: Collection[str] | None) -> Iterator[None]:
    """Around a change to these dossiers' rows in the caller's transaction: their old
    counters out of the daily facts, their new ones in. All dossiers (None): rebuilt."""
    if codes is None:
        yield
        rebuild_days(conn)
        return
    ordered = sorted(set(codes))
    if not ordered:
        yield
        return
    if conn.dialect.name == "postgresql":
        # One writer at a time per dossier, from reading its old counters to adding its
        # new ones (a row not yet stored has no lock to take). SQLite writes one at a time.
        for code in ordered:
            conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(code))))
    before = _contributions(conn, ordered)
    yield
    after = _contributions(conn, ordered)
    delta = {k: list(v) for k, v in after.items()}
    for key, values in before.items():
        old = delta.get(key, [0] * len(values))
        delta[key] = [a - b for a, b in zip(old, values, strict=True)]
    _add_days(conn, delta)


def _local_date(conn: Connection, at: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return cast(func.timezone(VIETNAM_TZ, at), Date)
    return func.date(at, "+7 hours")  # SQLite holds UTC; Vietnam keeps UTC+7 all year


def _local_month(conn: Connection, at: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return cast(func.date_trunc("month", func.timezone(VIETNAM_TZ, at)), Date)
    return func.date(at, "+7 hours", "start of month")


def rebuild_days(conn: Connection) -> None:
    """The daily facts recomputed from every dossier's row (a migration's backfill does
    the same in SQL)."""
    d = DossierRow.__table__.c  # type: ignore[attr-defined]
    table = IndexDayRow.__table__  # type: ignore[attr-defined]
    ended = func.coalesce(d.processed_at, d.closed_at)
    is_open = ended.is_(None)
    day = case(
        (ended.is_not(None), _local_date(conn, ended)),
        (d.appointment_at.is_not(None), _local_date(conn, d.appointment_at)),
        else_=literal(NO_DAY, Date),
    )
    no_day = literal(NO_DAY, Date)

    def month(at: Any) -> Any:
        return case(
            (and_(ended.is_not(None), at.is_not(None)), _local_month(conn, at)), else_=no_day
        )

    keys = [
        is_open,
        day,
        month(d.received_at),
        month(d.appointment_at),
        d.competent_agency,
        d.centre_agency,
        d.procedure_code,
        d.procedure_name,
    ]
    counted = select(*keys, *(func.sum(c) for c in day_counters(d).values())).where(
        d.received_at.is_not(None)
    )
    conn.execute(delete(table))
    conn.execute(insert(table).from_select([*DAY_KEY, *DAY_COUNTERS], counted.group_by(*keys)))


def kept_day_rows(engine: Engine) -> dict[DayKey, tuple[int, ...]]:
    """The daily facts as stored (for tests and the bench: against `rebuild_days`)."""
    table = IndexDayRow.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(select(*(table.c[k] for k in (*DAY_KEY, *DAY_COUNTERS))))
        return {(bool(r[0]), r[1], r[2], r[3], *r[4:8]): tuple(int(v) for v in r[8:]) for r in rows}


# --- The index of a period -------------------------------------------------------------


def _row_counts(
    source: Any,
    end: datetime,
    now: datetime,
    docs: list[str],
    fees: list[str],
    *,
    where: Collection[Any] = (),
) -> Any:
    """The index's counts of the dossiers of `source` (a table or subquery of `dossiers`'
    columns) per deciding agency, procedure and its name, judged by `late_clause` at
    `judged_at(end, now)`, every figure decided per dossier: the reference the daily facts
    (`_from_days`) are checked against, and a period of other than whole days."""
    d = source.c
    ended = func.coalesce(d.processed_at, d.closed_at)
    finished = and_(ended.is_not(None), ended < end)
    is_doc = d.procedure_code.in_(docs)
    # 5.3/5.4: a complaint or a "dislike" (kept facts), or a PAKN item about the dossier
    # answered late or unanswered past its deadline when judged (never a kept fact).
    unhappy = or_(
        d.fact_unhappy, exists().where(col(FeedbackRow.dossier_code) == d.code, pakn_late(end, now))
    )
    with_result = and_(is_doc, finished, d.outcome.is_(None) | d.outcome.not_in(NO_RESULT_OUTCOMES))

    def total(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return (
        select(
            d.competent_agency,
            d.procedure_code,
            d.procedure_name,
            func.count(),
            total(finished),
            func.coalesce(func.sum(case((late_clause(end, now, d), 0), else_=1)), 0),
            total(d.supplement_requests > 1),
            total(and_(d.channel == "online", or_(~is_doc, d.fact_result))),
            total(d.procedure_code.in_(fees)),
            total(and_(d.procedure_code.in_(fees), d.fact_paid_online)),
            total(with_result),
            total(and_(with_result, d.fact_result)),
            total(and_(d.fact_upload, or_(~is_doc, d.fact_result))),
            total(d.fact_reused),
            total(unhappy),
            func.coalesce(func.sum(case((finished, d.resolution_minutes), else_=literal(0))), 0),
            total(and_(finished, d.resolution_minutes.is_not(None))),
        )
        .select_from(source)
        .where(*where)
        .group_by(d.competent_agency, d.procedure_code, d.procedure_name)
    )


def _recomputed(
    start: datetime,
    end: datetime,
    now: datetime,
    docs: list[str],
    fees: list[str],
    narrow: Callable[[Any], list[Any]],
) -> Any:
    """Every fact probed from its table, over `dossiers` itself (what the kept facts and
    the daily facts must equal)."""
    table = DossierRow.__table__  # type: ignore[attr-defined]
    d = table.c
    probed = fact_conditions()
    columns = [d[name] for name in INDEX_COLUMNS if name not in FACTS]
    source = (
        select(*columns, *(probed[name].label(name) for name in FACTS))
        .where(counted_in(start, end), *narrow(d))
        .subquery("recomputed")
    )
    return _row_counts(source, end, now, docs, fees)


def _day_counts(where: list[Any], late: Any, *, unfinished: bool = False) -> Any:
    """The raw counters (`RAW`) summed from the daily facts matching `where` per agency,
    procedure and name, with `late` the late count of each day key; `unfinished`: finished
    dossiers counted as unfinished (by a period they finished after)."""
    t = IndexDayRow.__table__.c  # type: ignore[attr-defined]
    sums: dict[str, Any] = {name: t[name] for name in DAY_COUNTERS if "late_" not in name}
    sums["late"] = late
    if unfinished:
        for name in ("finished", "with_result", "e_result", "resolution_total", "resolution_count"):
            sums[name] = literal(0)
    return (
        select(
            t.competent_agency,
            t.procedure_code,
            t.procedure_name,
            *(func.coalesce(func.sum(sums[name]), 0) for name in RAW),
        )
        .where(*where)
        .group_by(t.competent_agency, t.procedure_code, t.procedure_name)
    )


def _raw_rows(source: Any, end: datetime, now: datetime) -> Any:
    """The raw counters (`RAW`) of the dossiers of `source` per agency, procedure and
    name, judged as `_row_counts` judges them (finished: before `end`; late:
    `late_clause`), with nothing that depends on the procedure's kind (`_mapped` does)."""
    d = source.c
    ended = func.coalesce(d.processed_at, d.closed_at)
    finished = and_(ended.is_not(None), ended < end)
    with_result = and_(finished, d.outcome.is_(None) | d.outcome.not_in(NO_RESULT_OUTCOMES))

    def total(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    counters = {
        "received": func.count(),
        "finished": total(finished),
        "late": total(late_clause(end, now, d)),
        "multiple_supplements": total(d.supplement_requests > 1),
        "online": total(d.channel == "online"),
        "online_result": total(and_(d.channel == "online", d.fact_result)),
        "paid_online": total(d.fact_paid_online),
        "with_result": total(with_result),
        "e_result": total(and_(with_result, d.fact_result)),
        "upload": total(d.fact_upload),
        "upload_result": total(and_(d.fact_upload, d.fact_result)),
        "reused": total(d.fact_reused),
        "unhappy": total(d.fact_unhappy),
        "resolution_total": func.coalesce(
            func.sum(case((finished, d.resolution_minutes), else_=literal(0))), 0
        ),
        "resolution_count": total(and_(finished, d.resolution_minutes.is_not(None))),
    }
    return (
        select(
            d.competent_agency,
            d.procedure_code,
            d.procedure_name,
            *(counters[name] for name in RAW),
        )
        .select_from(source)
        .group_by(d.competent_agency, d.procedure_code, d.procedure_name)
    )


def _mapped(raw: list[int], is_doc: bool, is_fee: bool) -> list[int]:
    """Raw counters (`RAW`) into the index's (`NUMBERS`), for a procedure whose result is
    a document or not, with fees or not: what `_row_counts` decides per dossier."""
    r = dict(zip(RAW, raw, strict=True))
    return [
        r["received"],
        r["finished"],
        r["received"] - r["late"],
        r["multiple_supplements"],
        r["online_result"] if is_doc else r["online"],
        r["received"] if is_fee else 0,
        r["paid_online"] if is_fee else 0,
        r["with_result"] if is_doc else 0,
        r["e_result"] if is_doc else 0,
        r["upload_result"] if is_doc else r["upload"],
        r["reused"],
        r["unhappy"],
        r["resolution_total"],
        r["resolution_count"],
    ]


def _is_midnight(at: datetime) -> bool:
    return at == day_start(local_day(at))


def _from_days(
    conn: Connection,
    start: datetime,
    end: datetime,
    now: datetime,
    docs: Collection[str],
    fees: Collection[str],
    narrow: Callable[[Any], list[Any]],
) -> list[tuple[Group, list[int]]]:
    """A period with whole local days: the daily facts of the dossiers finished in it,
    and of every unfinished one judged by whole days; the dossiers judged on the judging
    day itself, those finished after the period (unfinished at its end) and those received
    after it, one by one (`_row_counts`); and a PAKN item late at `now` (`_pakn_unhappy`).
    Returns signed parts to add up."""
    t = IndexDayRow.__table__.c  # type: ignore[attr-defined]
    d = DossierRow.__table__.c  # type: ignore[attr-defined]
    ended = func.coalesce(d.processed_at, d.closed_at)
    is_open = and_(d.processed_at.is_(None), d.closed_at.is_(None))
    judging = local_day(now)
    whole = _is_midnight(now)  # judged at a day's start: every day is judged whole
    parts: list[tuple[Group, list[int]]] = []

    def run(stmt: Any, sign: int = 1) -> None:
        """Raw counters, mapped by the procedure's kind once per group, not per dossier."""
        for row in conn.execute(stmt):
            numbers = _mapped([int(v or 0) for v in row[3:]], row[1] in docs, row[1] in fees)
            parts.append(((row[0], row[1], row[2]), [sign * v for v in numbers]))

    def rows(*where: Any) -> Any:
        columns = [d[name] for name in INDEX_COLUMNS]
        return select(*columns).where(*where, *narrow(d)).subquery("rows")

    end_day = local_day(end)
    monthly = end_day.day == 1  # the period ends at a month's start: whole months
    finished = [t.open.is_(False), t.day >= local_day(start), t.day < end_day, *narrow(t)]
    if monthly:  # received before the period's end (a dossier ends after it is received)
        finished.append(t.received_month < end_day)
    run(_day_counts(finished, t.late_after))
    open_days = [t.open.is_(True), *narrow(t)]
    if not whole:
        open_days.append(t.day != judging)
    run(_day_counts(open_days, case((t.day < judging, t.late_after), else_=t.late_before)))
    today = and_(
        d.appointment_at >= day_start(judging),
        d.appointment_at < day_start(judging + timedelta(days=1)),
    )
    if not whole:  # the judging day's unfinished dossiers, by the hour
        run(
            _raw_rows(
                rows(is_open, today, d.received_at.is_not(None), d.received_at < end), end, now
            )
        )
    # Finished after the period, received before its end: unfinished at its end. Judged
    # at a month's start, their daily facts by month of receipt and of appointment say it
    # (due before the period's end: late); else one by one.
    if monthly and now == end:
        after_it = [
            t.open.is_(False), t.day >= end_day, t.received_month < end_day, *narrow(t)
        ]  # fmt: skip
        late = case(
            (t.appointment_month < end_day, t.unfinished_late_after),
            else_=t.unfinished_late_before,
        )
        run(_day_counts(after_it, late, unfinished=True))
    else:
        run(_raw_rows(rows(ended >= end, d.received_at < end), end, now))
    # Unfinished, received after the period: in the daily facts, not in the period.
    after = [is_open, d.received_at >= end]
    if not whole:  # those of the judging day are in neither
        after.append(or_(d.appointment_at.is_(None), ~today))
    run(_raw_rows(rows(*after), end, now), sign=-1)
    for row in conn.execute(_pakn_unhappy(start, end, now, narrow)):
        numbers = [0] * len(NUMBERS)
        numbers[NUMBERS.index("complained_or_disliked")] = int(row[3])
        parts.append(((row[0], row[1], row[2]), numbers))
    return parts


def _pakn_unhappy(
    start: datetime, end: datetime, now: datetime, narrow: Callable[[Any], list[Any]]
) -> Any:
    """The dossiers counted in the period that only a PAKN item late at `now` makes
    unhappy (it depends on the instant judged: never a kept fact): how many per agency,
    procedure and name."""
    d = DossierRow.__table__.c  # type: ignore[attr-defined]
    f = FeedbackRow.__table__.c  # type: ignore[attr-defined]
    # From the items (few) to their dossiers, not the other way round.
    late_items = (
        select(f.dossier_code.label("code"))
        .where(f.dossier_code.is_not(None), pakn_late(end, now))
        .distinct()
        .subquery("late_items")
    )
    return (
        select(d.competent_agency, d.procedure_code, d.procedure_name, func.count())
        .select_from(late_items.join(DossierRow.__table__, d.code == late_items.c.code))  # type: ignore[attr-defined]
        .where(counted_in(start, end), d.fact_unhappy.is_(False), *narrow(d))
        .group_by(d.competent_agency, d.procedure_code, d.procedure_name)
    )


def _merged(parts: list[tuple[Group, list[int]]]) -> list[IndexCounts]:
    """Signed parts per agency, procedure and name into the index's rows, per agency and
    procedure (the name: the greatest of those still counting a dossier), in order."""
    by_name: dict[Group, list[int]] = {}
    for group, values in parts:
        old = by_name.get(group, [0] * len(NUMBERS))
        by_name[group] = [a + b for a, b in zip(old, values, strict=True)]
    rows: dict[tuple[str, str], IndexCounts] = {}
    for (agency, code, name), values in sorted(by_name.items()):
        if values[0] == 0:  # received: no dossier of this name is counted
            continue
        found = rows.get((agency, code))
        numbers = dict(zip(NUMBERS, values, strict=True))
        if found is None:
            rows[(agency, code)] = IndexCounts(
                agency=agency, procedure_code=code, procedure_name=name, **numbers
            )
        else:
            for k, v in numbers.items():
                setattr(found, k, getattr(found, k) + v)
            found.procedure_name = max(found.procedure_name, name)
    return [rows[k] for k in sorted(rows)]


def index_counts(
    engine: Engine,
    start: datetime,
    end: datetime,
    *,
    document_procedures: Collection[str],
    fee_procedures: Collection[str],
    agency: str | None = None,
    procedure: str | None = None,
    now: datetime | None = None,
    recompute: bool = False,
) -> list[IndexCounts]:
    """The index's counts of [start, end) per deciding agency and procedure, unfinished
    dossiers judged at `judged_at(end, now)`: from the daily facts when the period is
    whole local days (a month), else from the period's rows (`period_rows`); with
    `recompute`, every fact probed from its table over all dossiers. Equal, as tests
    check."""
    at = judged_at(end, now)
    docs = list(document_procedures) or [""]
    fees = list(fee_procedures) or [""]

    def narrow(c: Any) -> list[Any]:
        where = []
        if agency is not None:
            where.append(or_(c.competent_agency == agency, c.centre_agency == agency))
        if procedure is not None:
            where.append(c.procedure_code == procedure)
        return where

    with engine.connect() as conn:
        _for_a_month(conn)
        if recompute or not (_is_midnight(start) and _is_midnight(end)):
            if recompute:
                stmt = _recomputed(start, end, at, docs, fees, narrow)
            else:
                rows = period_rows(start, end, INDEX_COLUMNS)
                stmt = _row_counts(rows, end, at, docs, fees, where=narrow(rows.c))
            parts = [((r[0], r[1], r[2]), [int(v or 0) for v in r[3:]]) for r in conn.execute(stmt)]
        else:
            parts = _from_days(conn, start, end, at, set(docs), set(fees), narrow)
    return _merged(parts)


def late_count(
    engine: Engine,
    start: datetime,
    end: datetime,
    *,
    now: datetime | None = None,
    agency: str | None = None,
) -> int:
    """How many dossiers the index counts late in [start, end): the late list's total."""
    counts = index_counts(
        engine, start, end, document_procedures=(), fee_procedures=(), agency=agency, now=now
    )
    return sum(c.received - c.on_time for c in counts)


def late_codes(
    engine: Engine,
    start: datetime,
    end: datetime,
    *,
    now: datetime | None = None,
    agency: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[str]:
    """The dossiers the index counts late in [start, end) (`late_clause`), oldest first
    by receipt (then code): the late list is these, so the two always agree; `limit`
    from `offset` for a page. A page reads the unfinished dossiers in the order of their
    index (the first late ones found end it), then the finished ones of the period
    received no later than the page's last unfinished one."""
    at = judged_at(end, now)
    d = DossierRow.__table__.c  # type: ignore[attr-defined]
    ended = func.coalesce(d.processed_at, d.closed_at)
    columns = [d[name] for name in INDEX_COLUMNS]
    finished = select(*columns).where(ended >= start, d.received_at < end).subquery("finished")
    unfinished = (
        select(*columns)
        .where(d.processed_at.is_(None), d.closed_at.is_(None), d.received_at < end)
        .subquery("unfinished")
    )
    out: list[tuple[Any, str]] = []
    bound = None  # a page's last unfinished one: finished ones received later are not on it
    with engine.connect() as conn:
        _for_a_month(conn)
        for part in (unfinished, finished):
            c = part.c
            stmt = select(c.received_at, c.code).where(late_clause(end, at, c))
            if agency is not None:
                stmt = stmt.where(or_(c.competent_agency == agency, c.centre_agency == agency))
            if bound is not None:
                stmt = stmt.where(c.received_at <= bound)
            stmt = stmt.order_by(c.received_at, c.code)
            if limit is not None:
                stmt = stmt.limit(offset + limit)
            found = [(r[0], r[1]) for r in conn.execute(stmt)]
            if limit is not None and len(found) == offset + limit:
                bound = found[-1][0]
            out.extend(found)
    out.sort()
    codes = [code for _, code in out]
    return codes[offset:] if limit is None else codes[offset : offset + limit]
