"""Claims on the notification outbox, on both databases: concurrent senders take
disjoint rows; a sender that died leaves its rows to another once its lease has run
out, and its late report is refused; a row whose sender keeps dying is given up."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from store import repository as repo
from store.repository.outbox_delivery import (
    claim_outbox,
    count_outbox_delivery,
    list_outbox_delivery,
    outbox_attempt_failed,
    outbox_delivered,
    outbox_unclaim,
)
from store.schemas import OutboxMessage

T0 = datetime(2030, 1, 7, 3, 0, tzinfo=UTC)


def queue(engine: Engine, n: int, channel: str = "sms") -> list[str]:
    rows = [
        OutboxMessage(
            dossier_code=f"D{i:03d}",
            event_id=f"D{i:03d}:1",
            recipient=f"{channel}:0912{i:06d}",
            channel=channel,
            subject="Hồ sơ đã được tiếp nhận",
            body="Hồ sơ đã được tiếp nhận.",
            created_at=T0 + timedelta(seconds=i),
        )
        for i in range(n)
    ]
    repo.add_outbox(engine, rows)
    return [r.id for r in rows]


def test_concurrent_claims_are_disjoint_and_cover_every_row(engine: Engine) -> None:
    ids = queue(engine, 72)
    queue(engine, 5, channel="portal")  # a channel nobody claims here
    claimed: dict[str, list[str]] = {}
    lock = threading.Lock()
    start = threading.Barrier(6)

    def sender(name: str) -> None:
        for _ in range(3):  # 3 rounds of 6 senders x 4 rows: 72 rows, all at once each round
            start.wait()
            rows = claim_outbox(engine, ["sms"], sender=name, limit=4, now=T0)
            with lock:
                claimed.setdefault(name, []).extend(r.id for r in rows)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(sender, [f"s{i}" for i in range(6)]))
    every = [i for got in claimed.values() for i in got]
    assert sorted(every) == sorted(ids)  # each row once, none twice
    assert all(len(got) == 12 for got in claimed.values())  # every sender had its share
    held = list_outbox_delivery(engine, "pending", channel="sms", limit=100)
    assert [(r.attempts, r.claimed_by in claimed) for r in held] == [(1, True)] * 72


def test_a_dead_senders_rows_go_to_another_after_the_lease(engine: Engine) -> None:
    (row_id,) = queue(engine, 1)
    lease = timedelta(minutes=5)
    (first,) = claim_outbox(engine, ["sms"], sender="dead", lease=lease, now=T0)
    assert first.claimed_until == T0 + lease and first.attempts == 1
    assert claim_outbox(engine, ["sms"], sender="other", now=T0 + lease) == []  # still held
    (second,) = claim_outbox(engine, ["sms"], sender="other", now=T0 + lease + timedelta(seconds=1))
    assert second.id == row_id and second.attempts == 2
    # The dead sender wakes up: what it says is no longer taken.
    assert not outbox_delivered(engine, row_id, sender="dead", at=T0)
    assert not outbox_attempt_failed(engine, row_id, sender="dead", error="x", retry_at=None)
    assert outbox_delivered(engine, row_id, sender="other", at=T0 + lease)
    assert count_outbox_delivery(engine) == {("sms", "sent"): 1}


def test_a_row_whose_senders_keep_dying_is_given_up(engine: Engine) -> None:
    (row_id,) = queue(engine, 1)
    now = T0
    for _ in range(3):
        assert claim_outbox(
            engine, ["sms"], sender="s", lease=timedelta(seconds=10), max_attempts=3, now=now
        )
        now += timedelta(seconds=11)
    assert claim_outbox(engine, ["sms"], sender="s", max_attempts=3, now=now) == []
    (row,) = list_outbox_delivery(engine, "failed")
    assert row.id == row_id and row.attempts == 3 and row.failed_at == now
    assert row.last_error and "3 attempt(s)" in row.last_error


def test_a_row_given_back_untried_keeps_its_attempts(engine: Engine) -> None:
    (row_id,) = queue(engine, 1)
    (first,) = claim_outbox(engine, ["sms"], sender="s", now=T0)
    assert first.attempts == 1
    assert outbox_unclaim(engine, row_id, sender="s")
    (again,) = claim_outbox(engine, ["sms"], sender="t", now=T0)
    assert again.attempts == 1 and again.claimed_by == "t"
