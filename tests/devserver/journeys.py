"""Dossier journeys shared by the end-to-end tests and the history recorder
(tests/histories/record.py): the people of the judicial record certificate
procedure (3.000333, handed off to the provincial police), a submission, and
helpers to walk a dossier through DossierService with every worker running.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

from temporalio.client import WorkflowHandle

from domain.catalog import Catalog, Role, load_catalog
from domain.dossier import Action, ActionInput, Actor, Applicant, Channel, DossierView, Status
from infra.settings import REPO_ROOT
from services.dossiers import DossierService, SubmitRequest
from tests.factories import doc
from tests.harness import running_workers
from workflows.dossier import DossierWorkflow

PROCEDURE = "3.000333"  # Phiếu lý lịch tư pháp số 1, decided by the provincial police
CENTRE = "000.00.01.H99"  # Trung tâm Phục vụ hành chính công tỉnh
POLICE = "000.00.20.H99"  # Công an tỉnh
COMMUNE_CENTRE = "000.31.01.H99"  # another centre: right role, wrong agency
CODE = re.compile(r"^000\.00\.20\.H99-\d{6}-\d{4}$")

APPLICANT = Actor(id="citizen-001", name="Nguyễn Văn An", role=Role.APPLICANT)
INTAKE = Actor(id="intake-1", name="Trần Thị Bình", role=Role.INTAKE_OFFICER, agency=CENTRE)
SPECIALIST = Actor(
    id="police-specialist-1", name="Lê Văn Cường", role=Role.SPECIALIST, agency=POLICE
)
LEADER = Actor(id="police-leader-1", name="Phạm Văn Dũng", role=Role.LEADER, agency=POLICE)
SIGNER = Actor(id="police-signer-1", name="Hoàng Thị Em", role=Role.SIGNER, agency=POLICE)
RETURNER = Actor(id="return-1", name="Vũ Thị Phương", role=Role.RETURN_OFFICER, agency=CENTRE)


@lru_cache(maxsize=1)
def shipped_catalog() -> Catalog:
    return load_catalog(REPO_ROOT / "procedures")


def request(n: int = 1) -> SubmitRequest:
    return SubmitRequest(
        procedure_code=PROCEDURE,
        applicant=Applicant(
            name="Nguyễn Văn An",
            id_number=f"0010900{n:05d}",
            phone="0912345678",
            address="Hạ Long, Quảng Ninh",
            account=APPLICANT.id,
        ),
        channel=Channel.COUNTER,
        documents=[doc("to-khai-03.pdf", "to_khai"), doc("can-cuoc.pdf", "giay_to_tuy_than")],
    )


@asynccontextmanager
async def workers(service: DossierService) -> AsyncIterator[None]:
    """The centre's worker and one worker per agency of the catalog."""
    async with running_workers(
        service.client,
        service.engine,
        list(service.catalog.agencies),
        task_queue=service.settings.centre_task_queue,
        data_source_url=service.settings.data_source_url,
    ):
        yield


def handle_of(service: DossierService, code: str) -> WorkflowHandle[Any, DossierView]:
    return service.client.get_workflow_handle_for(DossierWorkflow.run, code)


async def act(
    service: DossierService, code: str, action: Action, actor: Actor, **kw: Any
) -> DossierView:
    return await service.act(code, action, ActionInput(actor=actor, **kw))


async def wait_for_step(service: DossierService, code: str, step_id: str) -> DossierView:
    """Wait for the dossier to reach `step_id` (e.g. after the police worker's acknowledgement)."""
    for _ in range(200):
        view = await service.state(code)
        if view.current_step and view.current_step.step_id == step_id:
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"{code} never reached step {step_id}: {view.current_step}")


async def idle(handle: WorkflowHandle[Any, Any]) -> None:
    """Wait until nothing is in flight: no activity and no workflow task pending."""
    for _ in range(200):
        raw = (await handle.describe()).raw_description
        if not raw.pending_activities and not raw.HasField("pending_workflow_task"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} never became idle")


async def walk_to_returned(service: DossierService, code: str) -> DossierView:
    """From the appraisal step on, each step taken by the role and agency that owns it."""
    view = await wait_for_step(service, code, "tra_cuu_xac_minh")
    view = await act(
        service,
        code,
        Action.APPRAISE,
        SPECIALIST,
        data={"opinion": "Không có án tích", "recommendation": "grant"},
    )
    assert view.current_step is not None and view.current_step.step_id == "phe_duyet"
    view = await act(service, code, Action.APPROVE, LEADER, comment="Đồng ý cấp Phiếu")
    assert view.current_step is not None and view.current_step.step_id == "ky_phieu"
    view = await act(service, code, Action.SIGN, SIGNER, data={"document": "phieu-lltp-so-1.pdf"})
    assert view.status is Status.PROCESSED
    assert view.current_step is not None and view.current_step.step_id == "tra_ket_qua"
    assert view.holder is not None
    assert (view.holder.action, view.holder.role, view.holder.agency) == (
        Action.RETURN,
        Role.RETURN_OFFICER,
        CENTRE,
    )
    # The fee was not collected at intake: the return officer collects it first.
    await act(service, code, Action.PAY, RETURNER, data={"amount_vnd": 200_000, "method": "cash"})
    return await act(
        service,
        code,
        Action.RETURN,
        RETURNER,
        data={"channel": "counter", "received_by": "Nguyễn Văn An"},
    )
