from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.catalog import Role, StepKind
from domain.dossier import Actor, Channel, Event, Status
from store import repository as repo
from store.db import make_engine, session
from store.models import DossierSequenceRow, HandoffInboxRow, OutboxRow
from store.schemas import (
    DocumentRecord,
    DossierSummary,
    HandoffReceipt,
    OutboxMessage,
    RefusedAttempt,
)

T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
CODE = "000.00.01.H99-250303-0001"
AGENCY = "000.00.01.H99"


def make_event(seq: int, *, kind: str = "accept", **kw) -> Event:
    return Event(
        id=f"{CODE}:{seq}",
        seq=seq,
        dossier_code=CODE,
        kind=kind,
        at=T0 + timedelta(minutes=seq),
        actor_id="officer-1",
        actor_name="Nguyễn Văn A",
        role=Role.INTAKE_OFFICER,
        agency=AGENCY,
        step_id="intake",
        step_kind=StepKind.INTAKE,
        status_before=Status.SUBMITTED,
        status_after=Status.RECEIVED,
        data={"n": seq, "when": T0},  # a datetime in data must survive as JSON
        **kw,
    )


def make_summary(seq: int, status: Status = Status.RECEIVED, **kw) -> DossierSummary:
    base = dict(
        code=CODE,
        procedure_code="1.001",
        procedure_version=1,
        procedure_name="Đăng ký khai sinh",
        status=status,
        channel=Channel.COUNTER,
        centre_agency=AGENCY,
        competent_agency="000.00.02.H99",
        current_step_id="appraise",
        current_step_kind=StepKind.APPRAISAL,
        current_agency="000.00.02.H99",
        current_role=Role.SPECIALIST,
        step_due_at=T0 + timedelta(days=1),
        submitted_at=T0,
        received_at=T0,
        appointment_at=T0 + timedelta(days=5),
        applicant_name="Trần Thị B",
        applicant_id_number="001203004567",
        updated_at=T0 + timedelta(minutes=seq),
        last_event_seq=seq,
    )
    base.update(kw)
    return DossierSummary(**base)


# --------------------------------------------------------------------------- codes


def test_allocate_sequence_and_format(engine):
    d1, d2 = date(2025, 3, 3), date(2025, 3, 4)
    assert repo.allocate_dossier_code(engine, AGENCY, d1) == f"{AGENCY}-250303-0001"
    assert repo.allocate_dossier_code(engine, AGENCY, d1) == f"{AGENCY}-250303-0002"
    # day rollover restarts at 1, and agencies count separately
    assert repo.allocate_dossier_code(engine, AGENCY, d2) == f"{AGENCY}-250304-0001"
    assert repo.allocate_dossier_code(engine, "OTHER", d1) == "OTHER-250303-0001"
    assert repo.allocate_dossier_code(engine, AGENCY, d1) == f"{AGENCY}-250303-0003"


def test_allocate_grows_past_four_digits(engine):
    with session(engine) as s:
        s.add(DossierSequenceRow(agency_code=AGENCY, day="250303", last_seq=9998))
    assert repo.allocate_dossier_code(engine, AGENCY, date(2025, 3, 3)).endswith("-250303-9999")
    assert repo.allocate_dossier_code(engine, AGENCY, date(2025, 3, 3)).endswith("-250303-10000")


@pytest.mark.parametrize(
    "engine_per_thread", [False, True], ids=["shared-engine", "engine-per-thread"]
)
def test_allocate_is_unique_under_concurrency(engine, engine_per_thread):
    threads, per_thread = 8, 25
    barrier = threading.Barrier(threads)
    url = engine.url.render_as_string(hide_password=False)

    def worker(_: int) -> list[str]:
        # an engine per thread stands in for separate worker processes
        eng = make_engine(url) if engine_per_thread else engine
        try:
            barrier.wait()
            return [
                repo.allocate_dossier_code(eng, AGENCY, date(2025, 3, 3)) for _ in range(per_thread)
            ]
        finally:
            if engine_per_thread:
                eng.dispose()

    with ThreadPoolExecutor(threads) as pool:
        codes = [c for chunk in pool.map(worker, range(threads)) for c in chunk]
    assert len(codes) == len(set(codes)) == threads * per_thread
    seqs = sorted(int(c.rsplit("-", 1)[1]) for c in codes)
    assert seqs == list(range(1, threads * per_thread + 1))


# --------------------------------------------------------------------------- events


def test_record_events_is_idempotent(engine):
    events = [make_event(1), make_event(2, kind="forward")]
    repo.record_events(engine, events, make_summary(2))
    repo.record_events(engine, events, make_summary(2))
    rows = repo.list_events(engine, CODE)
    assert [(r.id, r.seq, r.kind) for r in rows] == [
        (f"{CODE}:1", 1, "accept"),
        (f"{CODE}:2", 2, "forward"),
    ]
    first = rows[0]
    assert first.role == "intake_officer" and first.step_kind == "intake"
    assert first.status_before == "submitted" and first.status_after == "received"
    assert first.at == T0 + timedelta(minutes=1)
    assert first.data == {"n": 1, "when": T0.isoformat().replace("+00:00", "Z")}
    dossier = repo.get_dossier(engine, CODE)
    assert dossier is not None
    assert dossier.status == "received" and dossier.status_code == 2
    assert dossier.current_role == "specialist" and dossier.channel == "counter"
    assert dossier.last_event_seq == 2


def test_events_listed_in_seq_order(engine):
    repo.record_events(engine, [make_event(3), make_event(1)], None)
    repo.record_events(engine, [make_event(2), make_event(3)], None)
    assert [r.seq for r in repo.list_events(engine, CODE)] == [1, 2, 3]
    assert repo.get_dossier(engine, CODE) is None


def test_stale_summary_does_not_regress(engine):
    repo.record_events(engine, [make_event(1)], make_summary(1))
    newer = make_summary(5, status=Status.IN_PROGRESS, overdue=True)
    repo.record_events(engine, [make_event(5)], newer)
    # a late retry of the older activity
    repo.record_events(engine, [make_event(1)], make_summary(1))
    d = repo.get_dossier(engine, CODE)
    assert (
        d.last_event_seq == 5
        and d.status == "in_progress"
        and d.status_code == 4
        and d.overdue is True
    )
    # the same seq may refresh the row (e.g. a flag set without a new event)
    repo.record_events(
        engine, [], make_summary(5, status=Status.IN_PROGRESS, overdue=True, escalated=True)
    )
    d = repo.get_dossier(engine, CODE)
    assert d.escalated is True and d.last_event_seq == 5
    # and a newer one moves it on
    repo.record_events(engine, [], make_summary(6, status=Status.PROCESSED, outcome="granted"))
    d = repo.get_dossier(engine, CODE)
    assert d.status == "processed" and d.outcome == "granted" and d.escalated is False


def test_summary_without_updated_at_gets_write_time(engine):
    before = datetime.now(UTC) - timedelta(seconds=1)
    repo.record_events(engine, [], make_summary(1, updated_at=None))
    assert repo.get_dossier(engine, CODE).updated_at >= before


# --------------------------------------------------------------------------- outbox, documents, handoffs


def test_outbox_is_idempotent(engine):
    msgs = [
        OutboxMessage(
            dossier_code=CODE,
            event_id=f"{CODE}:1",
            recipient="001203004567",
            recipient_role=Role.APPLICANT,
            channel="sms",
            subject="Tiếp nhận",
            body="Hồ sơ đã được tiếp nhận",
            created_at=T0,
        ),
        OutboxMessage(
            dossier_code=CODE,
            event_id=f"{CODE}:1",
            recipient="specialist@000.00.02.H99",
            recipient_role=Role.SPECIALIST,
            recipient_agency="000.00.02.H99",
            created_at=T0,
        ),
    ]
    repo.add_outbox(engine, msgs)
    repo.add_outbox(engine, msgs)
    # a SQLModel row and a plain mapping are accepted too
    repo.add_outbox(
        engine,
        [
            OutboxRow(
                id=msgs[0].id,
                dossier_code=CODE,
                event_id=f"{CODE}:1",
                recipient="001203004567",
                created_at=T0,
            )
        ],
    )
    repo.add_outbox(
        engine,
        [
            dict(
                dossier_code=CODE,
                event_id=f"{CODE}:1",
                recipient="001203004567",
                subject="changed",
                created_at=T0,
            )
        ],
    )
    rows = repo.list_outbox(engine, CODE)
    assert sorted(r.id for r in rows) == sorted(
        [f"{CODE}:1:001203004567", f"{CODE}:1:specialist@000.00.02.H99"]
    )
    assert {r.id: r.subject for r in rows}[f"{CODE}:1:001203004567"] == "Tiếp nhận"
    assert all(r.sent_at is None for r in rows)

    assert len(repo.list_pending_outbox(engine)) == 2
    assert repo.mark_outbox_sent(engine, [rows[0].id], at=T0) == 1
    assert repo.mark_outbox_sent(engine, [rows[0].id], at=T0 + timedelta(hours=1)) == 0
    assert [r.id for r in repo.list_pending_outbox(engine)] == [rows[1].id]


def test_invalid_outbox_channel_rejected():
    with pytest.raises(ValueError):
        OutboxMessage(dossier_code=CODE, event_id="e", recipient="r", channel="fax", created_at=T0)


def test_documents_are_idempotent(engine):
    docs = [
        DocumentRecord(
            id=f"{CODE}:01",
            dossier_code=CODE,
            form="01",
            title="Giấy tiếp nhận",
            content="<p>Phiếu</p>",
            sha256="a" * 64,
            created_at=T0,
            event_id=f"{CODE}:1",
        ),
        DocumentRecord(
            id=f"{CODE}:result",
            dossier_code=CODE,
            form="result",
            title="Kết quả",
            content="x" * 10_000,
            created_at=T0 + timedelta(days=1),
        ),
    ]
    repo.add_documents(engine, docs)
    repo.add_documents(engine, docs)
    rows = repo.list_documents(engine, CODE)
    assert [(r.id, r.form) for r in rows] == [(f"{CODE}:01", "01"), (f"{CODE}:result", "result")]
    assert rows[0].content == "<p>Phiếu</p>" and len(rows[1].content) == 10_000
    assert repo.list_documents(engine, "nope") == []


def test_record_handoff_returns_existing_row_on_retry(engine):
    first = repo.record_handoff(
        engine,
        HandoffReceipt(
            agency_code="000.00.02.H99",
            dossier_code=CODE,
            step_id="appraise",
            run_index=0,
            received_at=T0,
            worker_identity="worker-a",
        ),
    )
    assert isinstance(first, HandoffInboxRow)
    assert first.id == f"{CODE}:appraise:0" and first.worker_identity == "worker-a"
    again = repo.record_handoff(
        engine,
        HandoffReceipt(
            agency_code="000.00.02.H99",
            dossier_code=CODE,
            step_id="appraise",
            run_index=0,
            received_at=T0 + timedelta(minutes=3),
            worker_identity="worker-b",
        ),
    )
    assert (again.id, again.worker_identity, again.received_at) == (first.id, "worker-a", T0)
    second_run = repo.record_handoff(
        engine,
        dict(
            agency_code="000.00.02.H99",
            dossier_code=CODE,
            step_id="appraise",
            run_index=1,
            received_at=T0 + timedelta(days=1),
        ),
    )
    assert second_run.id == f"{CODE}:appraise:1"
    with session(engine) as s:
        assert s.get(HandoffInboxRow, f"{CODE}:appraise:1") is not None


# --------------------------------------------------------------------------- refused attempts


def test_refused_attempts_listed_in_order(engine):
    intake = Actor(id="officer-1", name="A", role=Role.INTAKE_OFFICER, agency=AGENCY)
    citizen = Actor(id="citizen-9", role=Role.APPLICANT)
    made = [
        RefusedAttempt.from_actor(
            dossier_code=CODE,
            action="approve",
            actor=intake,
            at=T0 + timedelta(minutes=5),
            code="forbidden",
            reason="role intake_officer may not approve",
        ),
        RefusedAttempt.from_actor(
            dossier_code=CODE,
            action="accept",
            actor=citizen,
            at=T0,
            code="forbidden",
            reason="applicants cannot accept",
            data={"x": [1, 2]},
        ),
        RefusedAttempt.from_actor(
            dossier_code=CODE,
            action="sign",
            actor=intake,
            at=T0 + timedelta(minutes=5),
            code="wrong_step",
            reason="not at signature",
        ),
        RefusedAttempt.from_actor(
            dossier_code="OTHER", action="sign", actor=intake, at=T0, code="closed"
        ),
    ]
    stored = [repo.record_refused_attempt(engine, a) for a in made]
    assert all(r.id is not None for r in stored)
    rows = repo.list_refused_attempts(engine, CODE)
    assert [(r.action, r.code) for r in rows] == [
        ("accept", "forbidden"),
        ("approve", "forbidden"),
        ("sign", "wrong_step"),
    ]
    assert rows[0].role == "applicant" and rows[0].agency is None and rows[0].data == {"x": [1, 2]}
    assert (
        rows[1].actor_id == "officer-1"
        and rows[1].agency == AGENCY
        and rows[1].at == T0 + timedelta(minutes=5)
    )


def test_refused_attempt_with_attempt_id_is_idempotent(engine):
    a = RefusedAttempt(
        attempt_id="upd-1",
        dossier_code=CODE,
        action="pay",
        at=T0,
        actor_id="c",
        role=Role.APPLICANT,
        code="invalid",
        reason="amount mismatch",
    )
    first = repo.record_refused_attempt(engine, a)
    again = repo.record_refused_attempt(engine, a.model_copy(update={"reason": "retried"}))
    assert again.id == first.id and again.reason == "amount mismatch"
    assert len(repo.list_refused_attempts(engine, CODE)) == 1
