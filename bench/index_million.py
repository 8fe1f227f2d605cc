"""The Decision 766 index over a million read-model dossiers, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.index_million [--rows 1000000] [--pg postgresql://localhost/test]

Fills a fresh read model (a SQLite file in a temporary folder; a throwaway PostgreSQL
database) with `--rows` dossiers of the shipped procedures over twelve months, with their
uploads, results, online payments, ratings and complaints in realistic proportions, then
times `services.index.service_index` for one month (all agencies, and one agency) and the CSV
export. Prints one line per measurement; docs/benchmarks.md records a run.
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
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, text
from sqlalchemy.engine import make_url

from domain.catalog import load_catalog
from infra.settings import Settings
from services.index import service_index, to_csv
from store.db import init_db, make_engine
from store.models import DocumentRow, DossierRow, EventRow, FeedbackRow, RatingRow

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
                "reused": rnd.random() < 0.4,
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
        if online and rnd.random() < 0.7:
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
        if finished and rnd.random() < 0.05:
            ratings.append(
                {
                    "dossier_code": code,
                    "rating": rnd.choice(["like", "dislike"]),
                    "comment": "",
                    "by": "c",
                    "at": processed,
                }
            )
        if rnd.random() < 0.01:
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
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def timed(f: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def measure(name: str, engine: Engine, n: int) -> None:
    catalog = load_catalog(Settings().catalog_dir)
    print(f"[{name}] filling {n:,} dossiers ...", flush=True)
    filled = fill(engine, n)
    print(f"[{name}] filled in {filled:.0f} s", flush=True)
    start, end = datetime(2026, 11, 1, tzinfo=TZ), datetime(2026, 12, 1, tzinfo=TZ)
    seconds, index = timed(lambda: service_index(engine, catalog, start, end))
    total = index.total.counts  # type: ignore[attr-defined]
    print(
        f"[{name}] index for 2026-11, all agencies: {seconds * 1000:.0f} ms "
        f"({total.received:,} dossiers counted, {len(index.rows)} rows)"  # type: ignore[attr-defined]
    )
    seconds, _ = timed(lambda: service_index(engine, catalog, start, end, agency="000.00.20.H99"))
    print(f"[{name}] index for 2026-11, one agency: {seconds * 1000:.0f} ms")
    seconds, _ = timed(lambda: to_csv(service_index(engine, catalog, start, end)))
    print(f"[{name}] CSV export: {seconds * 1000:.0f} ms")


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
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
            init_db(engine)
            measure("sqlite", engine, args.rows)
            engine.dispose()
    if args.only != "sqlite":
        with pg_database(args.pg) as engine:
            measure("postgresql", engine, args.rows)


if __name__ == "__main__":
    main()
