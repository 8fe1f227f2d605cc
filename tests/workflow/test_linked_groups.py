"""Linked procedures (một cửa liên thông) on the time-skipping server: each
sub-procedure is a child dossier on its own agency's task queue, run by that
agency's worker, with its own clock and officers; the group's dossier tracks
acknowledgements, results and refusals."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Procedure
from domain.dossier import DossierInput, DossierView, LinkedSnapshot, Status
from store import repository
from tests.factories import (
    AGENCY,
    CENTRE,
    OTHER_AGENCY,
    anchor_monday,
    dossier_input,
    local,
    officer,
    procedure,
    synthetic_calendar,
)
from tests.harness import (
    act,
    documents_for_tests,
    running_workers,
    start_dossier,
    state,
    unique_code,
)
from workers.agency import agency_worker
from workflows.dossier import DossierWorkflow

BIRTH, RESIDENCE = "2.000986", "1.004222"


def sub_procedure(code: str, agency: str, days: float = 1) -> Procedure:
    """A sub-procedure resolved entirely by one agency (it receives, decides, returns)."""
    return procedure(
        code=code,
        name=f"Thủ tục con {code}",
        competent_agency=agency,
        standalone=False,
        statutory_time={"value": days, "unit": "working_days"},
        steps=[
            {
                "id": "nhan",
                "kind": "intake",
                "name": "Tiếp nhận",
                "role": "intake_officer",
                "budget": {"value": days / 4},
            },
            {
                "id": "xu_ly",
                "kind": "appraisal",
                "name": "Xử lý",
                "role": "specialist",
                "budget": {"value": days / 4},
            },
            {
                "id": "duyet",
                "kind": "approval",
                "name": "Duyệt",
                "role": "leader",
                "budget": {"value": days / 4},
            },
            {
                "id": "tra",
                "kind": "return",
                "name": "Trả",
                "role": "return_officer",
                "budget": {"value": days / 4},
            },
        ],
    )


def group_input(code: str, at: Any, cal: Any, *, on_child_refused: str = "refuse") -> DossierInput:
    group = procedure(
        code="9.000001",
        name="Liên thông khai sinh, thường trú (thử nghiệm)",
        statutory_time={"value": 3, "unit": "working_days"},
        receipt_cutoff="15:00",
        steps=[
            {
                "id": "tiep_nhan",
                "kind": "intake",
                "name": "Tiếp nhận",
                "role": "intake_officer",
                "agency": "centre",
                "budget": {"value": 0.5},
            },
            {
                "id": "lien_thong",
                "kind": "linked",
                "name": "Giải quyết liên thông",
                "role": "system",
                "budget": {"value": 2},
                "children": [
                    {"procedure": BIRTH, "agency": AGENCY},
                    {"procedure": RESIDENCE, "agency": OTHER_AGENCY},
                ],
                "on_child_refused": on_child_refused,
            },
            {
                "id": "tra",
                "kind": "return",
                "name": "Trả kết quả",
                "role": "return_officer",
                "agency": "centre",
                "budget": {"value": 0.5},
            },
        ],
    )
    inp = dossier_input(code, at, cal, proc=group)
    return inp.model_copy(
        update={
            "linked": {
                BIRTH: LinkedSnapshot(
                    procedure=sub_procedure(BIRTH, AGENCY),
                    agency=AGENCY,
                    step_agencies=[AGENCY] * 4,
                ),
                RESIDENCE: LinkedSnapshot(
                    procedure=sub_procedure(RESIDENCE, OTHER_AGENCY),
                    agency=OTHER_AGENCY,
                    step_agencies=[OTHER_AGENCY] * 4,
                ),
            }
        }
    )


async def until(handle: WorkflowHandle[Any, DossierView], test: Any, what: str) -> DossierView:
    for _ in range(300):
        view = await state(handle)
        if test(view):
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def resolve_child(env: WorkflowEnvironment, code: str, agency: str) -> DossierView:
    """The child agency's own officers take its sub-dossier through every step."""
    child = env.client.get_workflow_handle_for(DossierWorkflow.run, code)
    await act(child, "accept", officer("intake_officer", agency))
    await act(child, "appraise", officer("specialist", agency), data={"opinion": "Hợp lệ"})
    await act(child, "approve", officer("leader", agency))
    return await act(child, "return", officer("return_officer", agency), data={"channel": "online"})


async def open_group(
    env: WorkflowEnvironment, settings: Any, **kw: Any
) -> WorkflowHandle[Any, DossierView]:
    anchor = anchor_monday(await env.get_current_time(), weeks_ahead=2)
    now = await env.get_current_time()
    await env.sleep(local(anchor, 9) - now)
    inp = group_input(unique_code(), local(anchor, 9), synthetic_calendar(anchor), **kw)
    handle = await start_dossier(env.client, settings, inp)
    await act(handle, "accept", officer("intake_officer", CENTRE))
    return handle


async def test_sub_procedures_run_in_sequence_at_their_agencies(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    async with running_workers(ts_env.client, engine, [AGENCY, OTHER_AGENCY]) as settings:
        handle = await open_group(ts_env, settings)
        view = await until(
            handle,
            lambda v: v.children and v.children[0].acknowledged_at,
            "the first agency acknowledges",
        )
        first, second = view.children
        assert (first.procedure_code, first.agency) == (BIRTH, AGENCY)
        assert first.acknowledged_by == f"motcua-agency-{AGENCY}"  # its own worker
        assert second.started_at is None  # in sequence: waits for the first

        child_view = await resolve_child(ts_env, first.code, AGENCY)
        assert child_view.status is Status.RETURNED and child_view.parent_code == handle.id
        view = await until(handle, lambda v: v.children[1].acknowledged_at, "second acknowledged")
        assert view.children[0].outcome == "granted"

        await resolve_child(ts_env, view.children[1].code, OTHER_AGENCY)
        view = await until(handle, lambda v: v.status is Status.PROCESSED, "group processed")
        assert view.current_step is not None and view.current_step.step_id == "tra"
        await act(handle, "return", officer("return_officer", CENTRE))
        result = await handle.result()
        assert result.status is Status.RETURNED and result.outcome == "granted"
        kinds = [e.kind for e in repository.list_events(engine, handle.id)]
        assert kinds.count("child_started") == 2 and kinds.count("child_finished") == 2


async def test_a_refused_sub_procedure_refuses_the_group(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    async with running_workers(ts_env.client, engine, [AGENCY, OTHER_AGENCY]) as settings:
        handle = await open_group(ts_env, settings)
        view = await until(
            handle,
            lambda v: v.children and v.children[0].acknowledged_at,
            "first child acknowledged",
        )
        child = ts_env.client.get_workflow_handle_for(DossierWorkflow.run, view.children[0].code)
        await act(
            child,
            "refuse",
            officer("intake_officer", AGENCY),
            comment="Giấy chứng sinh không hợp lệ",
        )
        view = await until(handle, lambda v: v.outcome == "refused", "group refused")
        assert view.status is Status.PROCESSED  # the refusal notice goes back to the applicant
        assert view.children[0].outcome == "not_received"
        assert view.children[1].started_at is None  # never started
        await act(handle, "return", officer("return_officer", CENTRE))
        assert (await handle.result()).outcome == "refused"


async def test_an_agency_worker_that_is_down_delays_only_its_part(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    # Only the first agency's worker runs: the second agency is down.
    async with running_workers(ts_env.client, engine, [AGENCY]) as settings:
        handle = await open_group(ts_env, settings)
        view = await until(
            handle,
            lambda v: v.children and v.children[0].acknowledged_at,
            "first child acknowledged",
        )
        await resolve_child(ts_env, view.children[0].code, AGENCY)
        view = await until(handle, lambda v: v.children[1].started_at, "second child started")
        second = view.children[1]
        assert second.acknowledged_at is None and second.started_at is not None
        # The alert is due two working hours after the hop (Decree 63/2024 Art. 7(4)); the
        # machine's unit tests fire it. (The time-skipping server will not move its clock
        # while a workflow task waits for a worker, so it cannot be skipped to here.)
        assert second.ack_due_at is not None
        assert timedelta(hours=2) <= second.ack_due_at - second.started_at < timedelta(days=4)
        view = await state(handle)
        assert view.status is Status.IN_PROGRESS and view.children[0].outcome == "granted"

        # The agency comes back: the same child continues where it stopped.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(4) as pool:
            async with agency_worker(
                ts_env.client, OTHER_AGENCY, engine, pool, documents_for_tests()
            ):
                view = await until(
                    handle,
                    lambda v: v.children[1].acknowledged_at,
                    "acknowledged after the restart",
                )
                await resolve_child(ts_env, view.children[1].code, OTHER_AGENCY)
                view = await until(handle, lambda v: v.status is Status.PROCESSED, "processed")
                await act(handle, "return", officer("return_officer", CENTRE))
                assert (await handle.result()).outcome == "granted"


async def test_a_child_result_reaches_the_group_and_the_next_agency(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    from domain.dossier import DocumentRef
    from tests.factories import doc

    async with running_workers(ts_env.client, engine, [AGENCY, OTHER_AGENCY]) as settings:
        handle = await open_group(ts_env, settings)
        view = await until(
            handle,
            lambda v: v.children and v.children[0].acknowledged_at,
            "first child acknowledged",
        )
        child = ts_env.client.get_workflow_handle_for(DossierWorkflow.run, view.children[0].code)
        # The first agency asks the applicant for a document, which then travels on.
        await act(child, "accept", officer("intake_officer", AGENCY))
        await act(
            child,
            "request_supplement",
            officer("specialist", AGENCY),
            data={"missing": ["Giấy chứng sinh"]},
        )
        certificate: DocumentRef = doc("giay-chung-sinh.pdf", "giay_chung_sinh")
        await act(
            child,
            "supplement",
            officer("intake_officer", AGENCY),
            data={"documents": [certificate.model_dump()]},
        )
        await act(child, "appraise", officer("specialist", AGENCY), data={"opinion": "Hợp lệ"})
        await act(child, "approve", officer("leader", AGENCY))
        await act(child, "return", officer("return_officer", AGENCY))
        view = await until(handle, lambda v: v.children[1].acknowledged_at, "second started")
        second = ts_env.client.get_workflow_handle_for(DossierWorkflow.run, view.children[1].code)
        second_view = await state(second)
        assert certificate.sha256 in {d.sha256 for d in second_view.documents}
        group = await state(handle)
        assert certificate.sha256 in {d.sha256 for d in group.documents}
        await handle.terminate("test finished")
        await second.terminate("test finished")


async def test_the_group_tracks_each_sub_dossier_appointment(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    async with running_workers(ts_env.client, engine, [AGENCY, OTHER_AGENCY]) as settings:
        handle = await open_group(ts_env, settings)
        view = await until(
            handle,
            lambda v: v.children and v.children[0].acknowledged_at,
            "first child acknowledged",
        )
        child = ts_env.client.get_workflow_handle_for(DossierWorkflow.run, view.children[0].code)
        child_view = await act(child, "accept", officer("intake_officer", AGENCY))
        assert child_view.appointment_at is not None
        view = await until(
            handle,
            lambda v: v.children[0].appointment_at is not None,
            "the group hears the child's appointment",
        )
        assert view.children[0].appointment_at == child_view.appointment_at
        assert view.children[0].status is not None
        for _ in range(100):  # the group records the event in its read model
            kinds = [e.kind for e in repository.list_events(engine, handle.id)]
            if "child_appointment" in kinds:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("child_appointment never recorded")
        await child.terminate("test finished")
        await handle.terminate("test finished")
