"""The application service every front door uses (CLI, demo, HTTP API):
submitting a dossier, taking an action on it, reading its live state.

Submitting freezes what the dossier needs into the workflow input: the
procedure version in force on the day of receipt and a calendar snapshot, so
neither a catalog edit nor a `holidays` upgrade changes a running dossier.
Refused actions leave no trace in Temporal's history, so they are recorded
here, in the read model, for the auditors.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, HistoryEventFilterType
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.calendar import VIETNAM_TZ, WorkingCalendar
from domain.calendar_source import build_calendar, load_overrides
from domain.catalog import CENTRE, COMPETENT, Catalog, Procedure, Role
from domain.dossier import (
    Action,
    ActionInput,
    Actor,
    Applicant,
    Channel,
    DocumentRef,
    DossierDetail,
    DossierInput,
    DossierView,
    LinkedSnapshot,
    find_nul,
)
from infra import telemetry
from infra.settings import Settings
from store import repository
from store.schemas import RefusedAttempt
from workflows.dossier import AGENCY_CODE, DOSSIER_STATUS, PROCEDURE_CODE, DossierWorkflow

UPDATE_TIMEOUT = timedelta(seconds=15)
# A live-state query waits this long for the dossier's worker (a worker that is down, or
# overloaded, answers nothing): then "unavailable" (503), never an unexpected error. More
# than the sticky queue's 10 s: a query for a dossier cached by a worker that died waits
# that long before another worker takes it (the fault tests kill workers mid-walk).
QUERY_TIMEOUT = timedelta(seconds=20)
# A dossier the read model has closed: how long to wait for its workflow to close (it
# settles within moments) before asking it with a query instead.
CLOSE_WAIT = timedelta(seconds=2)
_NO_ANSWER = (
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
)
# Actions that may issue the signed result: the update waits for the signing
# activities, which may take long (retries); the caller waits only so long.
ISSUING_ACTIONS = (Action.SIGN, Action.APPROVE, Action.REJECT)
TZ = ZoneInfo(VIETNAM_TZ)


class ServiceError(Exception):
    """A request the service cannot carry out. `code`: not_found, invalid,
    forbidden, wrong_step, closed, unavailable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class SubmitRequest(BaseModel):
    procedure_code: str
    applicant: Applicant
    channel: Channel = Channel.COUNTER
    documents: list[DocumentRef] = Field(default_factory=list)
    centre_agency: str | None = None
    remote_area: bool = False


@lru_cache(maxsize=8)
def _calendar(
    first_year: int, last_year: int, overrides: Path | None, stamp: float
) -> WorkingCalendar:
    return build_calendar(first_year, last_year, load_overrides(overrides))


def calendar_snapshot(settings: Settings, year: int) -> WorkingCalendar:
    """The calendar frozen into a dossier received in `year` (cached per overrides version)."""
    path = settings.calendar_overrides
    stamp = path.stat().st_mtime if path.exists() else 0.0
    return _calendar(year - 1, year + settings.calendar_years_ahead, path, stamp)


class DossierService:
    def __init__(
        self, client: Client, engine: Engine, catalog: Catalog, settings: Settings
    ) -> None:
        self.client = client
        self.engine = engine
        self.catalog = catalog
        self.settings = settings

    # -- submission ---------------------------------------------------------------

    def build_input(
        self, req: SubmitRequest, actor: Actor, code: str, submitted_at: datetime
    ) -> DossierInput:
        local_day = submitted_at.astimezone(TZ).date()
        try:
            procedure = self.catalog.procedure(req.procedure_code, on=local_day)
        except KeyError as exc:
            raise ServiceError("not_found", str(exc.args[0])) from None
        centre = req.centre_agency or self.settings.centre_agency
        if centre not in self.catalog.agencies:
            raise ServiceError("invalid", f"centre_agency: unknown agency {centre}")
        agencies = [
            self.catalog.resolve_agency(s.agency, procedure, centre) for s in procedure.steps
        ]
        return DossierInput(
            code=code,
            procedure=procedure,
            calendar=calendar_snapshot(self.settings, local_day.year),
            centre_agency=centre,
            competent_agency=procedure.competent_agency,
            step_agencies=agencies,
            channel=req.channel,
            applicant=req.applicant,
            documents=req.documents,
            submitted_at=submitted_at,
            submitted_by=actor,
            remote_area=req.remote_area,
            linked=self._linked_snapshots(procedure, local_day),
        )

    def _linked_snapshots(self, procedure: Procedure, day: date) -> dict[str, LinkedSnapshot]:
        """The sub-procedures of a linked group, frozen with the group on the day of receipt."""
        out: dict[str, LinkedSnapshot] = {}
        for step in procedure.steps:
            for child in step.children:
                try:
                    sub = self.catalog.procedure(child.procedure, on=day)
                except KeyError as exc:
                    raise ServiceError("invalid", f"linked procedure: {exc.args[0]}") from None
                agency = child.agency or sub.competent_agency
                if child.statutory_time is not None:
                    sub = sub.model_copy(update={"statutory_time": child.statutory_time})
                out[child.procedure] = LinkedSnapshot(
                    procedure=sub,
                    agency=agency,
                    # The child agency both receives and resolves its sub-dossier.
                    step_agencies=[
                        agency if s.agency in (CENTRE, COMPETENT) else s.agency for s in sub.steps
                    ],
                )
        return out

    def validate_submission(self, req: SubmitRequest, actor: Actor) -> None:
        """Raise ServiceError when the submission cannot be accepted; no side effects."""
        if actor.role not in (Role.APPLICANT, Role.INTAKE_OFFICER):
            raise ServiceError(
                "forbidden", "only an applicant or an intake officer may submit a dossier"
            )
        if actor.role is Role.APPLICANT and req.applicant.account not in (None, actor.id):
            raise ServiceError("forbidden", "an applicant may submit only for their own account")
        nul = find_nul(req.model_dump(mode="json"))
        if nul:
            raise ServiceError("invalid", f"{nul}: text may not contain NUL characters")
        self.build_input(req, actor, "pending", datetime.now(UTC))

    async def allocate_code(self, req: SubmitRequest) -> str:
        """The next dossier code of the procedure's competent agency for today."""
        today = datetime.now(UTC).astimezone(TZ).date()
        try:
            procedure = self.catalog.procedure(req.procedure_code, on=today)
        except KeyError as exc:
            raise ServiceError("not_found", str(exc.args[0])) from None
        return await asyncio.to_thread(
            repository.allocate_dossier_code, self.engine, procedure.competent_agency, today
        )

    async def submit(
        self, req: SubmitRequest, actor: Actor, *, code: str | None = None
    ) -> DossierView:
        """Start the dossier's workflow (id = code), under a new code or under `code`,
        one reserved for this submission earlier (the API reserves one under an
        Idempotency-Key). A workflow already started under a reserved code is this
        submission's own, started by an earlier attempt: its state is returned."""
        self.validate_submission(req, actor)  # before consuming a number
        if actor.role is Role.APPLICANT:
            req = req.model_copy(
                update={"applicant": req.applicant.model_copy(update={"account": actor.id})}
            )
        reserved = code is not None
        if code is None:
            code = await self.allocate_code(req)
        now = datetime.now(UTC)
        procedure = self.catalog.procedure(req.procedure_code, on=now.astimezone(TZ).date())
        inp = self.build_input(req, actor, code, now)
        try:
            handle = await self.client.start_workflow(
                DossierWorkflow.run,
                inp,
                id=code,
                task_queue=self.settings.centre_task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(DOSSIER_STATUS, "submitted"),
                        SearchAttributePair(PROCEDURE_CODE, procedure.code),
                        SearchAttributePair(AGENCY_CODE, inp.centre_agency),
                    ]
                ),
                static_summary=f"{procedure.code} {procedure.name}",
            )
        except WorkflowAlreadyStartedError:
            if not reserved:
                raise
            handle = self.client.get_workflow_handle_for(DossierWorkflow.run, code)
        except RPCError as exc:
            if exc.status not in _NO_ANSWER:
                raise
            # It may have started: only a retry under the same Idempotency-Key is safe.
            raise ServiceError(
                "unavailable",
                f"Temporal did not confirm dossier {code} in time; submit again with the "
                "same Idempotency-Key (without one, check /v1/dossiers first)",
            ) from None
        try:
            return await self._query(handle)
        except ServiceError as exc:
            if exc.code != "unavailable":
                raise
            raise ServiceError(
                "unavailable",
                f"dossier {code} was received, but its worker did not answer in time; "
                f"read it at /v1/dossiers/{code} in a moment",
            ) from None

    # -- actions ------------------------------------------------------------------

    async def act(
        self,
        code: str,
        action: Action,
        cmd: ActionInput,
        *,
        record_refusal: bool = True,
        update_id: str | None = None,
    ) -> DossierView:
        """Run one action as a workflow update; a refusal is recorded (unless the caller
        decides whether to keep it: `record_refusal=False`) and re-raised.

        `update_id` (derived from the request's Idempotency-Key): Temporal runs an update
        once per id in a workflow run; a retry with the id of one it already accepted gets
        that update's outcome (attached to it while it runs), never a second action."""
        handle = self.client.get_workflow_handle_for(DossierWorkflow.run, code)
        try:
            if action in ISSUING_ACTIONS:
                view = await self._act_and_wait(handle, action, cmd, update_id)
            else:
                view = await handle.execute_update(
                    action.value,
                    cmd,
                    id=update_id,
                    result_type=DossierView,
                    rpc_timeout=UPDATE_TIMEOUT,
                )
            telemetry.note_procedure(view.procedure_code)
            return view
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type:
                # `already_taken`: not a refusal but a retry of an action taken before.
                if record_refusal and cause.type != "already_taken":
                    await self.record_refusal(code, action, cmd, cause.type, cause.message)
                raise ServiceError(cause.type, cause.message) from None
            raise
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            again = (
                "gửi lại đúng yêu cầu này với cùng Idempotency-Key (an toàn: thao tác không bị "
                "thực hiện hai lần)"
                if update_id is not None
                else "hãy xem lại hồ sơ trước khi thử lại, hoặc gửi kèm Idempotency-Key và "
                "expected_step để thử lại an toàn"
            )
            raise ServiceError(
                "unavailable",
                f"Bộ xử lý của hồ sơ {code} không trả lời kịp; thao tác '{action.value}' có thể "
                f"vẫn đang được thực hiện: {again}",
            ) from None
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                if any(w in exc.message for w in ("completed", "closed", "closing")):
                    reason = f"dossier {code} is closed; '{action.value}' is no longer possible"
                    if record_refusal:
                        await self.record_refusal(code, action, cmd, "closed", reason)
                    raise ServiceError("closed", reason) from None
                raise ServiceError("not_found", f"no dossier {code}") from None
            if exc.status in _NO_ANSWER:
                raise ServiceError(
                    "unavailable",
                    "the dossier's worker did not answer in time; nothing was changed, try again",
                ) from None
            raise

    async def _act_and_wait(
        self,
        handle: WorkflowHandle[DossierWorkflow, DossierView],
        action: Action,
        cmd: ActionInput,
        update_id: str | None = None,
    ) -> DossierView:
        """Accepted (or refused) at once; then wait for the signature a while. If it takes
        longer, answer with the state (its `issuing` says a signature is in progress)."""
        update = await handle.start_update(
            action.value,
            cmd,
            id=update_id,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            result_type=DossierView,
            rpc_timeout=UPDATE_TIMEOUT,
        )
        try:
            return await asyncio.wait_for(
                update.result(), timeout=self.settings.signing_wait_seconds
            )
        except TimeoutError:
            return await self._query(handle)

    async def record_refusal(
        self, code: str, action: Action, cmd: ActionInput, kind: str, reason: str
    ) -> None:
        """Record a refused attempt (the auditors' `refused_attempts`); `act` does, unless
        its caller says it will (`record_refusal=False`)."""
        attempt = RefusedAttempt.from_actor(
            dossier_code=code,
            action=action.value,
            actor=cmd.actor,
            at=datetime.now(UTC),
            code=kind,
            reason=reason,
            comment=cmd.comment,
            data=cmd.data,
        )
        await asyncio.to_thread(repository.record_refused_attempt, self.engine, attempt)

    # -- reading ------------------------------------------------------------------

    async def state(self, code: str, *, open_: bool = False) -> DossierView:
        """The dossier's view: as it closed, for a closed dossier (`closed_detail`); else
        the live `state` query. `open_`: the caller knows the dossier is open (polling it
        while a step of the engine's own is under way), so the read model is not asked."""
        closed = None if open_ else await self.closed_detail(code)
        if closed is not None:
            return closed.view
        return await self._query(self.client.get_workflow_handle_for(DossierWorkflow.run, code))

    async def detail(self, code: str) -> DossierDetail | DossierView:
        """The view and the applicant: as the dossier closed, for a closed dossier
        (`closed_detail`); else the `detail` query, or the view alone from a worker that
        predates that query."""
        closed = await self.closed_detail(code)
        if closed is not None:
            return closed
        handle = self.client.get_workflow_handle_for(DossierWorkflow.run, code)
        try:
            detail: DossierDetail = await self._asked(handle, DossierWorkflow.detail)
            return detail
        except WorkflowQueryFailedError as exc:
            if "detail" not in str(exc):  # not "unknown query type detail"
                raise
            return await self._query(handle)

    async def closed_detail(self, code: str) -> DossierDetail | None:
        """A closed dossier's view as its workflow returned it, and its applicant from
        the workflow's input: two reads of its history (the close event, the first
        event), no query. A query on a closed workflow has a worker replay the whole
        history first (most dossiers are closed, and a land dossier's history is long);
        and Temporal answers concurrent queries on one closed workflow one at a time
        (temporalio/sdk-rust#438), some after many seconds.

        None, for a query to answer instead: the read model does not say the dossier is
        closed (the hint: its workflow is closed then, or within moments, settling), or
        cannot be read (the workflows do not need it, and neither does reading them), or
        the workflow did not close within CLOSE_WAIT (its worker is behind), or did not
        complete (terminated, failed), or Temporal no longer holds it."""
        try:
            row = await asyncio.to_thread(repository.get_dossier, self.engine, code)
        except (DBAPIError, DisconnectionError):
            return None
        if row is None or row.closed_at is None:
            return None
        execution = WorkflowExecution(workflow_id=code)
        service = self.client.workflow_service
        try:
            # On a workflow still running this waits (a long poll) for its close.
            last = await service.get_workflow_execution_history(
                GetWorkflowExecutionHistoryRequest(
                    namespace=self.client.namespace,
                    execution=execution,
                    history_event_filter_type=HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
                ),
                timeout=CLOSE_WAIT,
            )
            completed = [
                e.workflow_execution_completed_event_attributes
                for e in last.history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
            ]
            if not completed:
                return None
            first = await service.get_workflow_execution_history(
                GetWorkflowExecutionHistoryRequest(
                    namespace=self.client.namespace, execution=execution, maximum_page_size=1
                ),
                retry=True,
                timeout=QUERY_TIMEOUT,
            )
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND or exc.status in _NO_ANSWER:
                return None
            raise
        started = first.history.events[0].workflow_execution_started_event_attributes
        converter = self.client.data_converter
        [view] = await converter.decode(completed[0].result.payloads, [DossierView])
        [inp] = await converter.decode(started.input.payloads, [DossierInput])
        return DossierDetail(view=view, applicant=inp.applicant)

    async def _query(self, handle: WorkflowHandle[DossierWorkflow, DossierView]) -> DossierView:
        view: DossierView = await self._asked(handle, DossierWorkflow.state)
        return view

    async def _asked(self, handle: WorkflowHandle[DossierWorkflow, Any], query: Any) -> Any:
        """A live query, within QUERY_TIMEOUT; a worker that does not answer is
        "unavailable" (503), never an unexpected error."""
        try:
            return await handle.query(query, rpc_timeout=QUERY_TIMEOUT)
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                raise ServiceError("not_found", f"no dossier {handle.id}") from None
            # FAILED_PRECONDITION: its last workflow task failed (timed out under load):
            # the server retries it; until then the workflow answers no query.
            if exc.status in _NO_ANSWER or exc.status is RPCStatusCode.FAILED_PRECONDITION:
                raise ServiceError(
                    "unavailable",
                    f"the worker of dossier {handle.id} did not answer in time; try again",
                ) from None
            raise
