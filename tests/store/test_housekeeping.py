"""Request keys (Idempotency-Key of submissions and actions) are remembered for a while,
then forgotten by the centre worker's housekeeping, on both databases."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, update
from sqlalchemy.engine import Engine

from services.housekeeping import forget_old_request_keys, housekeep_forever
from store import repository as repo
from store.models import ActionRequestRow

SHA = "c" * 64


def _action_key_claimed_at(engine: Engine, key: str, at: datetime) -> None:
    repo.claim_action_request(engine, "D-1", "user-1", key, SHA)
    with engine.begin() as conn:
        conn.execute(
            update(ActionRequestRow)
            .where(ActionRequestRow.key == key)  # type: ignore[arg-type]
            .values(created_at=at)
        )


def test_keys_older_than_the_kept_days_are_forgotten_the_others_kept(engine: Engine) -> None:
    now = datetime.now(UTC)
    repo.claim_idempotency_key(engine, "old", "user-1", SHA, at=now - timedelta(days=31))
    repo.claim_idempotency_key(engine, "new", "user-1", SHA, at=now - timedelta(days=29))
    _action_key_claimed_at(engine, "old-action", now - timedelta(days=31))
    _action_key_claimed_at(engine, "new-action", now - timedelta(days=29))

    done = forget_old_request_keys(engine, 30, now)

    assert (done.submission_keys, done.action_keys) == (1, 1)
    assert repo.get_idempotency_key(engine, "old", "user-1") is None
    assert repo.get_idempotency_key(engine, "new", "user-1") is not None
    # A retry under the forgotten action key is a new request; the kept one is not.
    assert repo.claim_action_request(engine, "D-1", "user-1", "old-action", SHA)[0]
    assert not repo.claim_action_request(engine, "D-1", "user-1", "new-action", SHA)[0]
    assert forget_old_request_keys(engine, 30, now) == type(done)(0, 0)  # idempotent


async def test_the_housekeeping_loop_purges_and_survives_a_failed_round(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(UTC)
    repo.claim_idempotency_key(engine, "old", "user-2", SHA, at=now - timedelta(days=8))
    caplog.set_level(logging.INFO, logger="services.housekeeping")
    # A loop whose rounds fail (here: a database without the tables) logs it and keeps
    # going; the next round may find the database back.
    broken = asyncio.create_task(housekeep_forever(create_engine("sqlite://"), 7, 0.01))
    keeper = asyncio.create_task(housekeep_forever(engine, 7, 0.01))
    try:
        # Each loop runs its rounds in a thread; on a busy machine either may come second.
        for _ in range(1500):
            purged = repo.get_idempotency_key(engine, "old", "user-2") is None
            if purged and "request-key housekeeping failed" in caplog.text:
                break
            await asyncio.sleep(0.02)
        assert repo.get_idempotency_key(engine, "old", "user-2") is None
        assert "request-key housekeeping failed" in caplog.text
        assert not broken.done()  # still looping
    finally:
        keeper.cancel()
        broken.cancel()
