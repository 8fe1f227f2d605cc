from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from store.db import init_db, make_engine, session
from store.models import DossierSequenceRow, HandoffInboxRow

ICT = timezone(timedelta(hours=7))


def test_sqlite_file_engine_creates_parent_and_enables_wal(tmp_path):
    path = tmp_path / "a" / "b" / "motcua.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        init_db(engine)
        assert path.parent.is_dir() and path.exists()
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
    finally:
        engine.dispose()


def test_sqlite_memory_engine_shares_one_database():
    engine = make_engine("sqlite://")
    init_db(engine)
    with session(engine) as s:
        s.add(DossierSequenceRow(agency_code="X", day="250101", last_seq=3))
    with session(engine) as s:
        assert s.get(DossierSequenceRow, ("X", "250101")).last_seq == 3


def test_postgres_urls_use_psycopg():
    engine = make_engine("postgresql://u@localhost/db")
    assert engine.url.drivername == "postgresql+psycopg"
    engine = make_engine("postgres://u@localhost/db")
    assert engine.url.drivername == "postgresql+psycopg"


def test_session_rolls_back_on_error(engine):
    with pytest.raises(RuntimeError), session(engine) as s:
        s.add(DossierSequenceRow(agency_code="X", day="250101", last_seq=1))
        s.flush()
        raise RuntimeError("boom")
    with session(engine) as s:
        assert s.get(DossierSequenceRow, ("X", "250101")) is None


def test_datetimes_round_trip_as_aware_utc(engine):
    local = datetime(2025, 3, 3, 8, 30, tzinfo=ICT)
    with session(engine) as s:
        s.add(
            HandoffInboxRow(
                id="D:s1:0", agency_code="A", dossier_code="D", step_id="s1", received_at=local
            )
        )
    with session(engine) as s:
        got = s.get(HandoffInboxRow, "D:s1:0").received_at
    assert got == local
    assert got.utcoffset() == timedelta(0)
    assert got == datetime(2025, 3, 3, 1, 30, tzinfo=UTC)
