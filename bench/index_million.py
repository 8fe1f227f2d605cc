"""The Decision 766 index, its late list, worklists and lists over a million read-model
dossiers, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.index_million [--rows 1000000] [--pg postgresql://localhost/test]
        [--only postgresql --database motcua_bench_million] [--repeat 20] [--drop] [--fill-only]

Fills a read model (a SQLite file in a temporary folder; a throwaway PostgreSQL database,
or with `--database` one kept between runs, filled once: generating a million dossiers
takes the machine for minutes) with `--rows` dossiers of the shipped procedures over
twelve months, with their uploads, results, online payments, ratings and complaints in
realistic proportions (and the facts the read model keeps of them), the open ones at a
step of their competent agency, and builds the index's daily facts. Then times, p50 and
p95 over `--repeat` runs: `services.index.service_index` for November 2026 (all
agencies, one agency), the CSV export, the late list's total and pages
(`store.index.late_count`, `late_codes`), the running month, December judged once every
dossier is in the past, officers' worklists and the dossier list; and checks once that
the index from the daily and kept facts equals a full recomputation, that the late list
is as long as its total and its pages are its slices, and that the daily facts equal a
rebuild. `--drop` drops the kept database; `--fill-only` fills it and exits; `--writes N`
times N writes with the daily facts and N without (and ends 2N open dossiers).
docs/benchmarks.md records the runs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, insert, select, text, update
from sqlalchemy.engine import make_url

from bench.common import PG_URL, POLICE, loadavg, percentile
from domain.catalog import load_catalog
from domain.dossier import Status
from infra.settings import Settings
from services.index import service_index, to_csv
from store.db import init_db, make_engine
from store.index import index_counts, kept_day_rows, late_codes, late_count, rebuild_days
from store.models import (
    DocumentRow,
    DossierRow,
    EventRow,
    FeedbackRow,
    IndexDayRow,
    RatingRow,
)
from store.repository.lists import list_dossiers, worklist
from store.schemas import DossierQuery, WorklistQuery

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
YEAR_START = datetime(2026, 1, 1, tzinfo=TZ)
BATCH = 20_000


def rows(
    n: int, seed: int = 766
) -> Iterator[tuple[list[dict], list[dict], list[dict], list[dict], list[dict]]]:
    rnd = random.Random(seed)
    catalog = load_catalog(Settings().catalog_dir)
    procedures = [catalog.procedure(c) for c in catalog.procedures]
    dossiers: list[dict] = []
    documents: list[dict] = []
    events: list[dict] = []
    ratings: list[dict] = []
    feedback: list[dict] = []
    for i in range(n):
        p = rnd.choice(procedures)
        code = f"000.00.01.H99-{i:07d}"
        received = YEAR_START + timedelta(minutes=rnd.randrange(365 * 24 * 60))
        appointment = received + timedelta(days=rnd.randint(1, 20))
        finished = rnd.random() < 0.93
        processed = received + timedelta(days=rnd.uniform(0.2, 24)) if finished else None
        late = processed is not None and processed > appointment
        online = rnd.random() < 0.6
        reused = rnd.random() < 0.4
        paid = online and rnd.random() < 0.7
        rating = rnd.choice(["like", "dislike"]) if finished and rnd.random() < 0.05 else None
        complaint = rnd.random() < 0.01
        dossiers.append(
            {
                "code": code,
                "procedure_code": p.code,
                "procedure_version": p.version,
                "procedure_name": p.name,
                "status": "returned" if finished else "in_progress",
                "status_code": 10 if finished else 4,
                "channel": "online" if online else "counter",
                "centre_agency": "000.00.01.H99",
                "competent_agency": p.competent_agency,
                "submitted_at": received,
                "received_at": received,
                "appointment_at": appointment,
                "overdue": late,
                "escalated": late,
                "applicant_name": "Nguyễn Văn An",
                "applicant_id_number": f"{i:012d}",
                "closed_at": processed,
                "processed_at": processed,
                "supplement_requests": 2
                if rnd.random() < 0.02
                else (1 if rnd.random() < 0.1 else 0),
                "resolution_minutes": rnd.randint(60, 480 * 15) if finished else None,
                "updated_at": processed or received,
                "last_event_seq": 12,
                # The index's kept facts (store.index.refresh_facts) as the rows below
                # make them, so the filled database needs no refresh over the million.
                "fact_result": finished,
                "fact_upload": True,
                "fact_reused": reused,
                "fact_paid_online": paid,
                "fact_unhappy": complaint or rating == "dislike",
            }
        )
        documents.append(
            {
                "id": f"{code}:u",
                "dossier_code": code,
                "form": "to_khai",
                "sha256": f"{i:064x}",
                "created_at": received,
                "source": "upload",
                "reused": reused,
            }
        )
        if finished:
            documents.append(
                {
                    "id": f"{code}:result",
                    "dossier_code": code,
                    "form": "result",
                    "sha256": f"{i + n:064x}",
                    "created_at": processed,
                    "source": "result",
                    "reused": False,
                }
            )
        if paid:
            events.append(
                {
                    "id": f"{code}:5",
                    "dossier_code": code,
                    "seq": 5,
                    "kind": "pay",
                    "at": received,
                    "actor_id": "system",
                    "role": "system",
                    "data": {},
                }
            )
        if rating is not None:
            ratings.append(
                {
                    "dossier_code": code,
                    "rating": rating,
                    "comment": "",
                    "by": "c",
                    "at": processed,
                }
            )
        if complaint:
            feedback.append(
                {
                    "dossier_code": code,
                    "kind": "complaint",
                    "text": "chậm",
                    "by": "c",
                    "at": received,
                }
            )
        if len(dossiers) >= BATCH:
            yield dossiers, documents, events, ratings, feedback
            dossiers, documents, events, ratings, feedback = [], [], [], [], []
    yield dossiers, documents, events, ratings, feedback


def fill(engine: Engine, n: int) -> float:
    started = time.perf_counter()
    tables = [DossierRow, DocumentRow, EventRow, RatingRow, FeedbackRow]
    for batch in rows(n):
        with engine.begin() as conn:
            for model, values in zip(tables, batch, strict=True):
                if values:
                    conn.execute(insert(model.__table__), values)  # type: ignore[attr-defined]
    filled = time.perf_counter() - started
    # Rows inserted here bypass the read model's writes: their daily facts are built once,
    # as the migration's backfill does (store.index.rebuild_days).
    t0 = time.perf_counter()
    with engine.begin() as conn:
        rebuild_days(conn)
    print(f"daily facts built in {time.perf_counter() - t0:.0f} s", flush=True)
    vacuum(engine)
    return filled


def vacuum(engine: Engine) -> None:
    """Statistics, and on PostgreSQL the visibility map (what makes index-only scans read
    no table pages: autovacuum's work on a live database)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def open_steps(engine: Engine) -> None:
    """Put every unfinished dossier at a step of its competent agency (appraisal by a
    specialist, due at the appointment; the late ones escalated to the leader, as filled),
    as the read model holds an open dossier: what officers' worklists read."""
    d = DossierRow.__table__.c  # type: ignore[attr-defined]
    with engine.begin() as conn:
        changed = conn.execute(
            update(DossierRow.__table__)  # type: ignore[attr-defined]
            .where(d.closed_at.is_(None), d.current_agency.is_(None))
            .values(
                current_agency=d.competent_agency,
                current_role="specialist",
                current_step_id="tham_dinh",
                current_step_kind="appraisal",
                step_due_at=d.appointment_at,
            )
        ).rowcount
    if changed:
        vacuum(engine)


def timed(f: Callable[[], object], repeat: int = 3) -> tuple[float, float, object]:
    """p50 and p95 (seconds) over `repeat` runs, after one run to warm the caches."""
    result = f()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), percentile(times, 95), result


def measure(name: str, engine: Engine, n: int, *, repeat: int, filled: bool = False) -> None:
    catalog = load_catalog(Settings().catalog_dir)
    if not filled:
        print(f"[{name}] filling {n:,} dossiers ...", flush=True)
        print(f"[{name}] filled in {fill(engine, n):.0f} s", flush=True)
    open_steps(engine)
    start, end = datetime(2026, 11, 1, tzinfo=TZ), datetime(2026, 12, 1, tzinfo=TZ)
    now = datetime(2026, 12, 7, tzinfo=TZ)

    def line(what: str, p50: float, p95: float, extra: str = "") -> None:
        print(
            f"[{name}] {what}: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms{extra}", flush=True
        )

    print(f"[{name}] load average {loadavg()}, {repeat} runs each", flush=True)
    p50, p95, index = timed(lambda: service_index(engine, catalog, start, end, now=now), repeat)
    total = index.total.counts  # type: ignore[attr-defined]
    rows = len(index.rows)  # type: ignore[attr-defined]
    line("index for 2026-11, all agencies", p50, p95, f" ({total.received:,} counted, {rows} rows)")
    p50, p95, _ = timed(
        lambda: service_index(engine, catalog, start, end, agency=POLICE, now=now), repeat
    )
    line("index for 2026-11, one agency", p50, p95)
    p50, p95, _ = timed(lambda: to_csv(service_index(engine, catalog, start, end, now=now)), repeat)
    line("CSV export", p50, p95)
    p50, p95, late = timed(lambda: late_count(engine, start, end, now=now), repeat)
    line("late list's total (late_count)", p50, p95, f" ({late:,} late)")
    p50, p95, _ = timed(lambda: late_codes(engine, start, end, now=now, limit=100), repeat)
    line("late list, first page of 100 (late_codes)", p50, p95)
    p50, p95, _ = timed(
        lambda: late_codes(engine, start, end, now=now, limit=100, offset=5000), repeat
    )
    line("late list, page of 100 from 5,000", p50, p95)
    p50, p95, _ = timed(
        lambda: late_codes(engine, start, end, now=now, agency=POLICE, limit=100), repeat
    )
    line("late list, one agency, first page", p50, p95)
    running = datetime(2026, 12, 7, 15, 30, tzinfo=TZ)
    p50, p95, _ = timed(
        lambda: service_index(
            engine,
            catalog,
            datetime(2026, 12, 1, tzinfo=TZ),
            datetime(2027, 1, 1, tzinfo=TZ),
            now=running,
        ),
        repeat,
    )
    line("index for 2026-12 (the running month, judged at 15:30)", p50, p95)
    # The generator's year runs to 31/12 (and its processing into January): judged on
    # 07/12, 94,000 dossiers ended after "now", which a read model never holds. December
    # judged once every dossier is in the past (31/01/2027), as it is published:
    after = datetime(2027, 1, 31, 9, 0, tzinfo=TZ)
    december = (datetime(2026, 12, 1, tzinfo=TZ), datetime(2027, 1, 1, tzinfo=TZ))
    p50, p95, _ = timed(lambda: service_index(engine, catalog, *december, now=after), repeat)
    line("index for 2026-12 judged 31/01/2027 (every dossier in the past)", p50, p95)
    p50, p95, _ = timed(
        lambda: service_index(engine, catalog, *december, agency=POLICE, now=after), repeat
    )
    line("index for 2026-12 judged 31/01/2027, one agency", p50, p95)
    p50, p95, late12 = timed(lambda: late_count(engine, *december, now=after), repeat)
    line("late list's total for 2026-12 judged 31/01/2027", p50, p95, f" ({late12:,} late)")
    p50, p95, _ = timed(lambda: late_codes(engine, *december, now=after, limit=100), repeat)
    line("late list for 2026-12 judged 31/01/2027, first page of 100", p50, p95)
    p50, p95, wl = timed(lambda: worklist(engine, POLICE, ["specialist"], limit=100), repeat)
    line("worklist, a specialist (100 most urgent)", p50, p95, f" ({wl[1]:,} on it)")  # type: ignore[index]
    p50, p95, _ = timed(
        lambda: worklist(engine, POLICE, ["leader"], query=WorklistQuery(unit=True)), repeat
    )
    line("worklist, a leader's unit", p50, p95)
    p50, p95, _ = timed(
        lambda: worklist(
            engine, POLICE, ["specialist"], query=WorklistQuery(overdue=True, now=now)
        ),
        repeat,
    )
    line("worklist, overdue only", p50, p95)
    p50, p95, _ = timed(lambda: list_dossiers(engine, DossierQuery(scope_agency=POLICE)), repeat)
    line("dossier list, an officer's agency (first page of 50)", p50, p95)
    p50, p95, _ = timed(lambda: list_dossiers(engine, DossierQuery()), repeat)
    line("dossier list, all (an auditor, first page)", p50, p95)
    p50, p95, _ = timed(
        lambda: list_dossiers(engine, DossierQuery(scope_agency=POLICE, status=Status.IN_PROGRESS)),
        repeat,
    )
    line("dossier list, an agency's dossiers in progress", p50, p95)
    # The kept facts against a full recomputation (the tests prove it on known data; this
    # on the million).
    procedures = {c: catalog.procedure(c) for c in catalog.procedures}
    kinds = {
        "document_procedures": [c for c, p in procedures.items() if p.issuing_step()],
        "fee_procedures": [c for c, p in procedures.items() if any(f.amount_vnd for f in p.fees)],
    }
    for a, b, at in (
        (start, end, now),
        (datetime(2026, 12, 1, tzinfo=TZ), datetime(2027, 1, 1, tzinfo=TZ), running),
        (datetime(2026, 12, 1, tzinfo=TZ), datetime(2027, 1, 1, tzinfo=TZ), after),
    ):
        t0 = time.perf_counter()
        fresh = index_counts(engine, a, b, now=at, recompute=True, **kinds)  # type: ignore[arg-type]
        seconds = time.perf_counter() - t0
        same = fresh == index_counts(engine, a, b, now=at, **kinds)  # type: ignore[arg-type]
        print(
            f"[{name}] {a:%Y-%m} judged {at:%d/%m/%Y %H:%M}: full recomputation {seconds * 1000:.0f} ms,"
            f" equal to the daily and kept facts: {same}",
            flush=True,
        )
    t0 = time.perf_counter()
    full = late_codes(engine, start, end, now=now)
    print(
        f"[{name}] whole late list {(time.perf_counter() - t0) * 1000:.0f} ms: {len(full):,}"
        f" codes, equal to the total: {len(full) == late}; pages equal to its slices:"
        f" {late_codes(engine, start, end, now=now, limit=100, offset=5000) == full[5000:5100]}",
        flush=True,
    )
    kept = kept_day_rows(engine)
    with engine.connect() as conn, conn.begin() as tx:
        rebuild_days(conn)
        rebuilt = _day_rows(conn)
        tx.rollback()
    print(f"[{name}] daily facts ({len(kept):,} rows) equal to a rebuild: {kept == rebuilt}")


def _day_rows(conn: Connection) -> dict[tuple[object, ...], tuple[int, ...]]:
    t = IndexDayRow.__table__  # type: ignore[attr-defined]
    return {
        (bool(r[0]), r[1], r[2], r[3], *r[4:8]): tuple(int(v) for v in r[8:])
        for r in conn.execute(select(*t.c))
    }


def writes(engine: Engine, n: int) -> None:
    """What the daily facts cost a write: `record_events` finishing `n` open dossiers with
    them, and `n` others without (the daily facts rebuilt afterwards). It changes the
    database: 2 × `n` open dossiers end."""
    import contextlib

    import store.repository.dossiers as written
    from store.schemas import DossierSummary

    with engine.connect() as conn:
        found = (
            conn.execute(
                select(DossierRow).where(DossierRow.closed_at.is_(None)).limit(2 * n)  # type: ignore[union-attr]
            )
            .mappings()
            .all()
        )
    fields = set(DossierSummary.model_fields)

    def finish(row: Any) -> float:
        at = row["received_at"] + timedelta(days=3)
        seq = row["last_event_seq"] + 1
        values = {k: row[k] for k in fields if k in row}
        values.update(
            status="returned", status_code=10, processed_at=at, closed_at=at,
            last_event_seq=seq, updated_at=at, current_agency=None, current_role=None,
            current_step_id=None, current_step_kind=None, step_due_at=None,
        )  # fmt: skip
        event = {"id": f"{row['code']}:{seq}", "seq": seq, "dossier_code": row["code"],
                 "kind": "return", "at": at, "actor_id": "bench", "role": "system"}  # fmt: skip
        t0 = time.perf_counter()
        written.record_events(engine, [event], values)
        return time.perf_counter() - t0

    kept = written.kept_days
    written.kept_days = lambda conn, codes: contextlib.nullcontext()  # type: ignore[assignment,misc]
    try:
        without = [finish(r) for r in found[:n]]
    finally:
        written.kept_days = kept
    with_days = [finish(r) for r in found[n:]]
    with engine.begin() as conn:
        rebuild_days(conn)
    for what, times in (("without the daily facts", without), ("with them", with_days)):
        print(
            f"record_events finishing a dossier, {what}: p50"
            f" {statistics.median(times) * 1000:.1f} ms, p95 {percentile(times, 95) * 1000:.1f} ms"
            f" ({len(times)} writes, load average {loadavg()})",
            flush=True,
        )


def kept_database(url: str, name: str) -> tuple[Engine, bool]:
    """A PostgreSQL database kept between runs (filled once: generating a million dossiers
    takes the machine for minutes); returns the engine and whether it is already filled."""
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if found is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = make_engine(make_url(url).set(database=name).render_as_string(hide_password=False))
    init_db(engine)
    with engine.connect() as conn:
        filled = bool(conn.execute(text("SELECT EXISTS (SELECT 1 FROM dossiers)")).scalar())
    return engine, filled


def drop_database(url: str, name: str) -> None:
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def pg_database(url: str) -> Iterator[Engine]:
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    name = f"bench_index_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(url).set(database=name).render_as_string(hide_password=False))
    try:
        init_db(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg", default=PG_URL)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--database", help="a PostgreSQL database kept between runs")
    parser.add_argument("--drop", action="store_true", help="drop --database and exit")
    parser.add_argument(
        "--fill-only", action="store_true", help="fill --database (if empty) and exit"
    )
    parser.add_argument(
        "--writes", type=int, default=0, help="time N writes with and without the daily facts"
    )
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    if args.drop:
        drop_database(args.pg, args.database)
        return
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
            init_db(engine)
            measure("sqlite", engine, args.rows, repeat=args.repeat)
            engine.dispose()
    if args.only != "sqlite" and args.database:
        engine, filled = kept_database(args.pg, args.database)
        if args.writes:
            writes(engine, args.writes)
            engine.dispose()
            return
        if args.fill_only:
            if not filled:
                print(f"filled in {fill(engine, args.rows):.0f} s", flush=True)
            open_steps(engine)
            engine.dispose()
            return
        measure("postgresql", engine, args.rows, repeat=args.repeat, filled=filled)
        engine.dispose()
    elif args.only != "sqlite":
        with pg_database(args.pg) as engine:
            measure("postgresql", engine, args.rows, repeat=args.repeat)


if __name__ == "__main__":
    main()
