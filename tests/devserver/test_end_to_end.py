"""End to end on the real Temporal dev server: DossierService with the shipped
catalog, the centre's worker plus one worker per agency of the catalog, and a
real read model (a SQLite file, and a fresh PostgreSQL database). No mocks.

Each test runs in its own namespace of the session's dev server (see conftest.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.client import Client

from domain.catalog import Role
from domain.dossier import Action, Actor, Status
from infra.settings import Settings
from services.dossiers import DossierService, ServiceError
from store import repository
from store.db import session
from store.models import HandoffInboxRow
from tests.devserver.journeys import (
    CENTRE,
    CODE,
    COMMUNE_CENTRE,
    INTAKE,
    LEADER,
    POLICE,
    PROCEDURE,
    RETURNER,
    SIGNER,
    SPECIALIST,
    act,
    handle_of,
    idle,
    request,
    shipped_catalog,
    wait_for_step,
    walk_to_returned,
    workers,
)
from tests.harness import caught_up, documents_for_tests
from tests.workflow.test_dossier_scenarios import pdf_text
from workflows.dossier import DOSSIER_STATUS

pytestmark = pytest.mark.devserver


@pytest.fixture
def service(client: Client, engine: Engine, tmp_path: Path) -> DossierService:
    settings = Settings(
        centre_task_queue=f"centre-e2e-{uuid.uuid4().hex[:8]}", state_dir=tmp_path / "state"
    )
    return DossierService(client, engine, shipped_catalog(), settings)


# --------------------------------------------------------------------------- a) every step


async def test_judicial_record_certificate_walks_every_step_to_returned(
    service: DossierService, engine: Engine
) -> None:
    async with workers(service):
        view = await service.submit(request(), INTAKE)
        code = view.code
        assert CODE.match(code), code
        assert view.status is Status.SUBMITTED and view.status_code == 1
        assert (view.procedure_code, view.centre_agency, view.competent_agency) == (
            PROCEDURE,
            CENTRE,
            POLICE,
        )
        assert view.holder is not None
        assert (view.holder.action, view.holder.role, view.holder.agency) == (
            Action.ACCEPT,
            Role.INTAKE_OFFICER,
            CENTRE,
        )

        view = await act(service, code, Action.ACCEPT, INTAKE, comment="Hồ sơ đầy đủ")
        assert view.status is Status.RECEIVED
        assert view.appointment_at is not None and view.received_at is not None

        # The handoff is automatic; the police's own worker acknowledges it.
        view = await wait_for_step(service, code, "tra_cuu_xac_minh")
        assert view.status is Status.IN_PROGRESS
        assert [a["agency"] for a in view.handoff_acks] == [POLICE]

        view = await walk_to_returned(service, code)
        assert view.status is Status.RETURNED and view.status_code == 10
        assert view.outcome == "granted" and view.closed_at is not None
        assert view.allowed_actions == []

        handle = handle_of(service, code)
        final = await handle.result()
        assert final.status is Status.RETURNED
        final = await caught_up(engine, handle)
        described = await handle.describe()
        assert described.typed_search_attributes.get(DOSSIER_STATUS) == "returned"

    # The read model row.
    row = repository.get_dossier(engine, code)
    assert row is not None
    assert (
        row.status,
        row.status_code,
        row.procedure_code,
        row.centre_agency,
        row.competent_agency,
        row.outcome,
    ) == ("returned", 10, PROCEDURE, CENTRE, POLICE, "granted")
    assert row.closed_at is not None and row.appointment_at is not None
    assert row.last_event_seq == final.event_seq

    # The events, in order.
    events = repository.list_events(engine, code)
    assert [e.seq for e in events] == list(range(1, final.event_seq + 1))
    assert [(e.kind, e.step_id, e.actor_id) for e in events] == [
        ("submitted", None, INTAKE.id),
        ("step_started", "tiep_nhan", "system"),
        ("accept", "tiep_nhan", INTAKE.id),
        ("step_started", "chuyen_ho_so", "system"),
        ("handoff_acknowledged", "chuyen_ho_so", "system"),
        ("step_started", "tra_cuu_xac_minh", "system"),
        ("appraise", "tra_cuu_xac_minh", SPECIALIST.id),
        ("step_started", "phe_duyet", "system"),
        ("approve", "phe_duyet", LEADER.id),
        ("step_started", "ky_phieu", "system"),
        ("signing_started", "ky_phieu", SIGNER.id),
        ("result_issued", "ky_phieu", SIGNER.id),
        ("sign", "ky_phieu", SIGNER.id),
        ("step_started", "tra_ket_qua", "system"),
        ("pay", "tra_ket_qua", RETURNER.id),  # the fee, collected before the return
        ("return", "tra_ket_qua", RETURNER.id),
    ]
    assert events[-1].status_after == "returned"
    accept = events[2]
    assert accept.data["form"] == "01" and accept.data["appointment_at"]

    # Form 01 (Giấy tiếp nhận hồ sơ và hẹn trả kết quả), generated from the accept event.
    forms = [d for d in repository.list_documents(engine, code) if d.form == "01"]
    assert len(forms) == 1
    form = forms[0]
    assert form.event_id == accept.id
    pdf = documents_for_tests().store.get(form.sha256)
    assert form.sha256 == hashlib.sha256(pdf).hexdigest() and form.size == len(pdf)
    text = pdf_text(pdf)
    assert code in text and "GIẤY TIẾP NHẬN HỒ SƠ" in text
    # The signed result, sealed by the issuing agency (the police), its hash in the events.
    result = next(d for d in repository.list_documents(engine, code) if d.source == "result")
    issued = next(e for e in events if e.kind == "result_issued")
    assert issued.data["document"]["sha256"] == result.sha256 == final.result.sha256
    assert result.signers == [f"signer:{SIGNER.id}@{POLICE}", f"seal:{POLICE}"]

    # The police worker's own receipt of the handoff.
    with session(engine) as s:
        inbox = list(s.exec(select(HandoffInboxRow).where(HandoffInboxRow.dossier_code == code)))
    assert len(inbox) == 1
    receipt = inbox[0]
    assert (receipt.agency_code, receipt.step_id, receipt.run_index) == (POLICE, "chuyen_ho_so", 1)
    assert receipt.worker_identity.startswith(POLICE)
    assert events[4].data["inbox_id"] == receipt.id
    assert repository.list_refused_attempts(engine, code) == []


# --------------------------------------------------------------------------- b) refusals


async def test_refused_attempts_are_refused_with_a_code_and_recorded(
    service: DossierService, engine: Engine
) -> None:
    wrong_role = SPECIALIST  # the police's specialist at the centre's counter
    wrong_agency = Actor(id="intake-commune-1", role=Role.INTAKE_OFFICER, agency=COMMUNE_CENTRE)
    async with workers(service):
        code = (await service.submit(request(), INTAKE)).code
        handle = handle_of(service, code)
        before = await caught_up(engine, handle)
        await idle(handle)
        history_before = len((await handle.fetch_history()).events)

        attempts = [
            (Action.ACCEPT, wrong_role, "forbidden"),
            (Action.ACCEPT, wrong_agency, "forbidden"),
            (Action.APPROVE, LEADER, "wrong_step"),  # the right people, but at intake
        ]
        for action, actor, expected in attempts:
            with pytest.raises(ServiceError) as refused:
                await act(service, code, action, actor, comment="thử")
            assert refused.value.code == expected, refused.value.message

        # Refused updates change nothing and leave no trace in Temporal's history...
        after = await service.state(code)
        assert after.event_seq == before.event_seq and after.status is Status.SUBMITTED
        assert len((await handle.fetch_history()).events) == history_before
        # ...which is why the service records them for the auditors.
        recorded = repository.list_refused_attempts(engine, code)
        assert [(r.action, r.actor_id, r.role, r.agency, r.code) for r in recorded] == [
            ("accept", wrong_role.id, "specialist", POLICE, "forbidden"),
            ("accept", wrong_agency.id, "intake_officer", COMMUNE_CENTRE, "forbidden"),
            ("approve", LEADER.id, "leader", POLICE, "wrong_step"),
        ]
        assert all(r.comment == "thử" for r in recorded)
        assert f"cán bộ tiếp nhận (intake_officer) của {CENTRE}" in recorded[0].reason
        assert f"cán bộ tiếp nhận (intake_officer) của {CENTRE}" in recorded[1].reason
        assert "tiep_nhan" in recorded[2].reason

        # Close the dossier (refused at intake), then act on it.
        view = await act(service, code, Action.REFUSE, INTAKE, comment="Không thuộc thẩm quyền")
        assert view.status is Status.NOT_RECEIVED
        assert (await handle.result()).status is Status.NOT_RECEIVED
        with pytest.raises(ServiceError) as closed:
            await act(service, code, Action.ACCEPT, INTAKE)
        assert closed.value.code == "closed", closed.value.message
        last = repository.list_refused_attempts(engine, code)[-1]
        assert (last.action, last.actor_id, last.code) == ("accept", INTAKE.id, "closed")
        assert "đã kết thúc" in last.reason

        # A dossier that does not exist.
        unknown = f"{POLICE}-000000-9999"
        with pytest.raises(ServiceError) as missing:
            await act(service, unknown, Action.ACCEPT, INTAKE)
        assert missing.value.code == "not_found"
        with pytest.raises(ServiceError) as missing:
            await service.state(unknown)
        assert missing.value.code == "not_found"
    assert len(repository.list_refused_attempts(engine, code)) == 4
    assert repository.list_refused_attempts(engine, unknown) == []


# --------------------------------------------------------------------------- c) concurrency


async def test_concurrent_submissions_get_distinct_consecutive_codes(
    service: DossierService, engine: Engine
) -> None:
    async with workers(service):
        views = await asyncio.gather(*(service.submit(request(n), INTAKE) for n in range(10)))
        codes = [v.code for v in views]
        assert len(set(codes)) == 10
        assert all(CODE.match(c) for c in codes), codes
        assert len({c.rsplit("-", 1)[0] for c in codes}) == 1  # one agency, one day
        seqs = sorted(int(c.rsplit("-", 1)[1]) for c in codes)
        assert seqs == list(range(seqs[0], seqs[0] + 10))
        # Each code is its own running dossier, recorded in the read model.
        for n, view in enumerate(views):  # gather keeps the order of the submissions
            assert view.status is Status.SUBMITTED
            await caught_up(engine, handle_of(service, view.code))
            row = repository.get_dossier(engine, view.code)
            assert row is not None and row.applicant_id_number == request(n).applicant.id_number


# --------------------------------------------------------------------------- d) durability


async def test_dossier_survives_a_worker_restart(service: DossierService, engine: Engine) -> None:
    async with workers(service):
        code = (await service.submit(request(), INTAKE)).code
        view = await act(service, code, Action.ACCEPT, INTAKE)
        assert view.status is Status.RECEIVED
        await caught_up(engine, handle_of(service, code))
    # Every worker is gone: the dossier lives on in Temporal alone.
    events_while_down = len(repository.list_events(engine, code))

    async with workers(service):  # new workers, empty caches: they rebuild from history
        view = await walk_to_returned(service, code)
        assert view.status is Status.RETURNED
        handle = handle_of(service, code)
        assert (await handle.result()).status is Status.RETURNED
        final = await caught_up(engine, handle)
    events = repository.list_events(engine, code)
    assert [e.seq for e in events] == list(range(1, final.event_seq + 1))
    assert len(events) > events_while_down
    assert [e.kind for e in events if e.kind not in ("step_started", "handoff_acknowledged")] == [
        "submitted",
        "accept",
        "appraise",
        "approve",
        "signing_started",
        "result_issued",
        "sign",
        "pay",
        "return",
    ]
