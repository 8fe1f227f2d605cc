"""The read model's side of the portal intake, on SQLite and PostgreSQL: a portal code is
bound to one motcua code whoever delivers it first, however many deliver it at once;
the sync back finds the portal code and the online payment; and the outbox hands a
dossier's messages of one instant to the sender in the order of their events."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from store import repository as repo
from store.schemas import OutboxMessage

FILED = datetime(2030, 1, 7, 2, 0, tzinfo=UTC)


def bind(engine, portal_code: str, dossier_code: str, via: str = "push"):
    return repo.bind_portal_dossier(
        engine,
        portal_code,
        dossier_code,
        procedure_code="3.000333",
        via=via,
        portal_received_at=FILED,
    )


def test_a_portal_code_is_bound_once(engine) -> None:
    row, first = bind(engine, "G22.99-300107-0001", "000.00.20.H99-300107-0001")
    assert first and row.deliveries == 1 and row.started_at is None
    again, first = bind(engine, "G22.99-300107-0001", "000.00.20.H99-300107-0002", "pull")
    assert not first
    assert (again.dossier_code, again.via, again.deliveries) == (
        "000.00.20.H99-300107-0001",
        "push",
        2,
    )
    repo.mark_portal_dossier_started(engine, "G22.99-300107-0001")
    repo.mark_portal_dossier_started(engine, "G22.99-300107-0001")  # a retry changes nothing
    stored = repo.portal_dossier(engine, "G22.99-300107-0001")
    assert stored is not None and stored.started_at is not None
    assert repo.portal_code_of(engine, "000.00.20.H99-300107-0001") == "G22.99-300107-0001"
    assert repo.portal_code_of(engine, "000.00.20.H99-300107-0002") is None
    assert repo.portal_dossier(engine, "G22.99-300107-0404") is None


def test_concurrent_first_deliveries_bind_one_code(engine) -> None:
    codes = [f"000.00.20.H99-300107-{n:04d}" for n in range(1, 9)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda c: bind(engine, "G22.99-300107-0009", c), codes))
    assert sum(first for _, first in results) == 1
    [winner] = {row.dossier_code for row, _ in results}
    assert winner in codes
    stored = repo.portal_dossier(engine, "G22.99-300107-0009")
    assert stored is not None and (stored.dossier_code, stored.deliveries) == (winner, 8)


def test_a_dossiers_messages_of_one_instant_go_in_event_order(engine) -> None:
    at = datetime(2030, 1, 7, 3, 0, tzinfo=UTC)
    messages = [
        OutboxMessage(
            id=f"D-1:{seq}:dvcqg",
            dossier_code="D-1",
            event_id=f"D-1:{seq}",
            recipient="dvcqg",
            channel="dvcqg",
            body=str(seq),
            created_at=at,
        )
        for seq in (10, 9, 11, 2)
    ]
    repo.add_outbox(engine, messages)
    pending = repo.list_pending_outbox(engine, channel="dvcqg")
    assert [m.body for m in pending] == ["2", "9", "10", "11"]
