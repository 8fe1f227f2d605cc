"""Idempotency keys of dossier submissions: claim, complete, mismatch, races."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from store import repository as repo
from store.db import make_engine
from store.schemas import IdempotencyState

T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
SHA = "a" * 64
OTHER_SHA = "b" * 64


def test_claim_complete_then_replay(engine):
    first = repo.claim_idempotency_key(engine, "k1", "user-1", SHA, at=T0)
    assert first.state is IdempotencyState.NEW and first.is_new
    assert first.dossier_code is None and first.created_at == T0

    again = repo.claim_idempotency_key(engine, "k1", "user-1", SHA)
    assert again.state is IdempotencyState.IN_PROGRESS and not again.is_new
    assert again.dossier_code is None

    repo.complete_idempotency_key(engine, "k1", "user-1", "D-0001")
    repo.complete_idempotency_key(engine, "k1", "user-1", "D-0001")  # idempotent
    done = repo.claim_idempotency_key(engine, "k1", "user-1", SHA)
    assert done.state is IdempotencyState.COMPLETED
    assert done.dossier_code == "D-0001"
    assert done.created_at == T0

    row = repo.get_idempotency_key(engine, "k1", "user-1")
    assert row is not None and row.request_sha256 == SHA and row.dossier_code == "D-0001"


def test_mismatch_when_the_key_is_reused_for_another_request(engine):
    repo.claim_idempotency_key(engine, "k1", "user-1", SHA)
    assert repo.claim_idempotency_key(engine, "k1", "user-1", OTHER_SHA).state is (
        IdempotencyState.MISMATCH
    )
    repo.complete_idempotency_key(engine, "k1", "user-1", "D-0001")
    mismatch = repo.claim_idempotency_key(engine, "k1", "user-1", OTHER_SHA)
    assert mismatch.state is IdempotencyState.MISMATCH
    # the stored claim is untouched
    assert repo.claim_idempotency_key(engine, "k1", "user-1", SHA).dossier_code == "D-0001"


def test_keys_are_per_principal(engine):
    assert repo.claim_idempotency_key(engine, "k1", "user-1", SHA).is_new
    assert repo.claim_idempotency_key(engine, "k1", "user-2", OTHER_SHA).is_new
    repo.complete_idempotency_key(engine, "k1", "user-2", "D-0002")
    assert repo.claim_idempotency_key(engine, "k1", "user-1", SHA).state is (
        IdempotencyState.IN_PROGRESS
    )


def test_complete_errors(engine):
    with pytest.raises(LookupError):
        repo.complete_idempotency_key(engine, "nope", "user-1", "D-0001")
    repo.claim_idempotency_key(engine, "k1", "user-1", SHA)
    repo.complete_idempotency_key(engine, "k1", "user-1", "D-0001")
    with pytest.raises(ValueError, match="D-0001"):
        repo.complete_idempotency_key(engine, "k1", "user-1", "D-0002")


def test_release_lets_a_retry_claim_again(engine):
    repo.claim_idempotency_key(engine, "k1", "user-1", SHA)
    assert repo.release_idempotency_key(engine, "k1", "user-1") is True
    assert repo.release_idempotency_key(engine, "k1", "user-1") is False
    assert repo.claim_idempotency_key(engine, "k1", "user-1", OTHER_SHA).is_new
    repo.complete_idempotency_key(engine, "k1", "user-1", "D-0001")
    assert repo.release_idempotency_key(engine, "k1", "user-1") is False  # completed keys stay
    assert repo.claim_idempotency_key(engine, "k1", "user-1", OTHER_SHA).dossier_code == "D-0001"


def test_stale_claim_is_taken_over(engine):
    repo.claim_idempotency_key(engine, "k1", "user-1", SHA, at=T0)
    fresh = repo.claim_idempotency_key(
        engine, "k1", "user-1", SHA, at=T0 + timedelta(seconds=30), stale_after=timedelta(minutes=5)
    )
    assert fresh.state is IdempotencyState.IN_PROGRESS
    later = T0 + timedelta(minutes=6)
    taken = repo.claim_idempotency_key(
        engine, "k1", "user-1", SHA, at=later, stale_after=timedelta(minutes=5)
    )
    assert taken.state is IdempotencyState.NEW and taken.created_at == later
    # the takeover renewed the claim
    assert (
        repo.claim_idempotency_key(
            engine, "k1", "user-1", SHA, at=later, stale_after=timedelta(minutes=5)
        ).state
        is IdempotencyState.IN_PROGRESS
    )


def test_purge(engine):
    repo.claim_idempotency_key(engine, "old", "user-1", SHA, at=T0)
    repo.claim_idempotency_key(engine, "new", "user-1", SHA, at=T0 + timedelta(days=2))
    assert repo.purge_idempotency_keys(engine, T0 + timedelta(days=1)) == 1
    assert repo.get_idempotency_key(engine, "old", "user-1") is None
    assert repo.get_idempotency_key(engine, "new", "user-1") is not None


def test_claim_requires_key_and_principal(engine):
    with pytest.raises(ValueError):
        repo.claim_idempotency_key(engine, "", "user-1", SHA)
    with pytest.raises(ValueError):
        repo.claim_idempotency_key(engine, "k", "", SHA)


def race(engine, engine_per_thread: bool, threads: int, call):
    barrier = threading.Barrier(threads)
    url = engine.url.render_as_string(hide_password=False)

    def worker(i: int):
        eng = make_engine(url) if engine_per_thread else engine
        try:
            barrier.wait()
            return call(eng, i)
        finally:
            if engine_per_thread:
                eng.dispose()

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(worker, range(threads)))


@pytest.mark.parametrize(
    "engine_per_thread", [False, True], ids=["shared-engine", "engine-per-thread"]
)
def test_concurrent_claims_yield_exactly_one_new(engine, engine_per_thread):
    results = race(
        engine,
        engine_per_thread,
        8,
        lambda eng, _: repo.claim_idempotency_key(eng, "race", "user-1", SHA).state,
    )
    assert results.count(IdempotencyState.NEW) == 1
    assert results.count(IdempotencyState.IN_PROGRESS) == 7


@pytest.mark.parametrize(
    "engine_per_thread", [False, True], ids=["shared-engine", "engine-per-thread"]
)
def test_concurrent_stale_takeover_has_one_winner(engine, engine_per_thread):
    repo.claim_idempotency_key(engine, "race", "user-1", SHA, at=T0)
    later = T0 + timedelta(hours=1)
    results = race(
        engine,
        engine_per_thread,
        8,
        lambda eng, _: (
            repo.claim_idempotency_key(
                eng, "race", "user-1", SHA, at=later, stale_after=timedelta(minutes=5)
            ).state
        ),
    )
    assert results.count(IdempotencyState.NEW) == 1
    assert results.count(IdempotencyState.IN_PROGRESS) == 7


def test_concurrent_claims_with_different_requests(engine):
    results = race(
        engine,
        True,
        6,
        lambda eng, i: repo.claim_idempotency_key(eng, "race", "user-1", f"{i % 2}" * 64).state,
    )
    assert results.count(IdempotencyState.NEW) == 1
    winner = results.index(IdempotencyState.NEW) % 2
    for i, state in enumerate(results):
        if i % 2 != winner:
            assert state is IdempotencyState.MISMATCH
        elif state is not IdempotencyState.NEW:
            assert state is IdempotencyState.IN_PROGRESS
