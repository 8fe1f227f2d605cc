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
import random
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
from temporalio.api.history.v1 import HistoryEvent, WorkflowExecutionCompletedEventAttributes
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
from domain.catalog import CENTRE, COMPETENT, AgencyKind, Catalog, Procedure, Role, StepKind
from domain.datasources import DataConsent
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
from domain.i18n import Text
from domain.machine.messages import T as MACHINE
from infra import telemetry
from infra.docstore import DocumentStore
from infra.settings import Settings
from services.audit.archive import ArchiveTampered, parse_archived, read_archived
from services.messages import T
from store import repository
from store.schemas import RefusedAttempt
from workflows.dossier import (
    AGENCY_CODE,
    DOSSIER_STATUS,
    PROCEDURE_CODE,
    PROJECTION_PATIENCE,
    DossierWorkflow,
)

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
# A query turned away because the dossier is busy (see `_asked`): asked again after a
# pause that doubles from the first to the last, until the query's deadline.
_BUSY = (RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.FAILED_PRECONDITION)
_BUSY_FIRST_PAUSE = 0.1
_BUSY_MAX_PAUSE = 2.0
# How often a submission looks whether the read model holds it yet (`_recorded`).
_RECORDED_POLL_SECONDS = 0.05
# Actions that may issue the signed result: the update waits for the signing
# activities, which may take long (retries); the caller waits only so long.
ISSUING_ACTIONS = (Action.SIGN, Action.APPROVE, Action.REJECT)
TZ = ZoneInfo(VIETNAM_TZ)


class ServiceError(Exception):
    """A request the service cannot carry out. `code`: not_found, invalid,
    forbidden, wrong_step, closed, unavailable."""

    def __init__(self, code: str, message: Text | str) -> None:
        # `text`: the message by key (rendered in the caller's language by the API);
        # `message`: its Vietnamese, or a message from outside the catalogue.
        self.text = message if isinstance(message, Text) else None
        self.message = str(message)
        super().__init__(self.message)
        self.code = code


class SubmitRequest(BaseModel):
    procedure_code: str
    applicant: Applicant
    channel: Channel = Channel.COUNTER
    documents: list[DocumentRef] = Field(default_factory=list)
    centre_agency: str | None = None
    remote_area: bool = False
    data_consents: list[DataConsent] = Field(default_factory=list)
    # Where the citizen collects the result (None: where they filed), or by post.
    return_agency: str | None = None
    return_by_post: bool = False


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
        self,
        client: Client,
        engine: Engine,
        catalog: Catalog,
        settings: Settings,
        archive: DocumentStore | None = None,
    ) -> None:
        self.client = client
        self.engine = engine
        self.catalog = catalog
        self.settings = settings
        # Where archived histories are kept (services/audit/archive.py): a closed dossier
        # whose history Temporal no longer holds is read from there. None: not read.
        self.archive = archive
        # A submission's wait for the read model ran out: the next do not wait (`_recorded`).
        self._projection_late = False

    # -- submission ---------------------------------------------------------------

    def build_input(
        self, req: SubmitRequest, actor: Actor, code: str, submitted_at: datetime
    ) -> DossierInput:
        local_day = submitted_at.astimezone(TZ).date()
        procedure = self._procedure(req.procedure_code, local_day)
        centre = self._receiving_centre(req, actor, local_day)
        returning = self._returning_centre(req, centre, local_day)
        # The intake centre receives, the competent agency decides, and the return step
        # at "centre" is the centre the citizen collects the result at.
        agencies = [
            returning
            if s.kind is StepKind.RETURN and s.agency == CENTRE
            else self.catalog.resolve_agency(s.agency, procedure, centre)
            for s in procedure.steps
        ]
        self._check_consents(procedure, req.data_consents)
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
            data_consents=req.data_consents,
            return_agency=returning if returning != centre else None,
            return_by_post=req.return_by_post,
        )

    def _receiving_centre(self, req: SubmitRequest, actor: Actor, day: date) -> str:
        """The centre that receives the dossier: the one named; else, for an intake officer,
        the centre they receive at (their own centre, or their commune's for an officer of
        a commune's People's Committee or police: D3 in docs/authorization.md); else this
        deployment's. An intake officer of a centre receives at that centre only: a dossier
        filed for another would be one they can neither see nor accept."""
        own = actor.agency if actor.role is Role.INTAKE_OFFICER else None
        own_centre = (
            own
            if own is not None
            and own in self.catalog.agencies
            and self.catalog.agencies[own].kind is AgencyKind.CENTRE
            else None
        )
        counter = self.catalog.centre_for(own, day) if own is not None else None
        centre = req.centre_agency or counter or self.settings.centre_agency
        if centre not in self.catalog.agencies:
            raise ServiceError("invalid", T("unknown_centre", agency=centre))
        if own_centre is not None and centre != own_centre:
            raise ServiceError("forbidden", T("own_centre_only", own=own_centre, agency=centre))
        return centre

    def _returning_centre(self, req: SubmitRequest, centre: str, day: date) -> str:
        """Where the result is returned: the centre the citizen chose, by default the one
        they filed at; by post, the filing centre sends it."""
        if req.return_agency is None or req.return_agency == centre:
            return centre
        if req.return_by_post:
            raise ServiceError("invalid", T("return_by_post_and_centre"))
        self._check_in_operation("return_agency", req.return_agency, day)
        return req.return_agency

    def _check_in_operation(self, field: str, code: str, day: date) -> None:
        """`code` is a centre in operation on `day`: one that has ceased (merged into its
        successor) or not started yet neither receives nor returns (ServiceError invalid,
        saying since when and where to go instead)."""
        agency = self.catalog.agencies.get(code)
        if agency is None or agency.kind is not AgencyKind.CENTRE:
            raise ServiceError("invalid", T("not_a_centre", field=field, agency=code))
        if agency.valid_to is not None and day > agency.valid_to:
            successor = self.catalog.successor_of(code)
            instead = (
                T("go_to_successor", name=self.catalog.agencies[successor].name, agency=successor)
                if successor in self.catalog.agencies
                else T("no_successor")
            )
            raise ServiceError(
                "invalid",
                T(
                    "centre_ended",
                    field=field,
                    name=agency.name,
                    agency=code,
                    last=agency.valid_to,
                    instead=instead,
                ),
            )
        if agency.valid_from is not None and day < agency.valid_from:
            raise ServiceError(
                "invalid",
                T(
                    "centre_not_yet",
                    field=field,
                    name=agency.name,
                    agency=code,
                    first=agency.valid_from,
                ),
            )

    def boundary_free(self, procedure: Procedure) -> bool:
        """Is the procedure on the province's boundary-free list (the setting, else the
        catalog's flag)?"""
        listed = self.settings.boundary_free_procedures
        return procedure.code in listed if listed is not None else procedure.boundary_free

    def _check_receivable(self, inp: DossierInput) -> None:
        """A centre receives a boundary-free procedure, or one of its own level and place;
        anything else is refused before a number is taken or a workflow started."""
        day = inp.submitted_at.astimezone(TZ).date()
        self._check_in_operation("centre_agency", inp.centre_agency, day)
        p = inp.procedure
        if self.catalog.may_receive(
            inp.centre_agency, p, boundary_free=self.boundary_free(p), day=day
        ):
            return
        home = ", ".join(self.catalog.home_centres(p, day)) or "-"
        raise ServiceError(
            "invalid", T("not_receivable", code=p.code, centre=inp.centre_agency, home=home)
        )

    @staticmethod
    def _check_consents(procedure: Procedure, consents: list[DataConsent]) -> None:
        """Each consent names a component of the procedure that a database supplies, once."""
        sources = {d.kind: d.source for d in procedure.documents if d.source}
        seen: set[str] = set()
        for i, c in enumerate(consents):
            if c.component not in sources:
                offered = ", ".join(sorted(sources)) or "không có thành phần nào"
                raise ServiceError(
                    "invalid",
                    f"data_consents.{i}.component: thủ tục {procedure.code} không khai thác "
                    f"thành phần '{c.component}' từ cơ sở dữ liệu (có thể: {offered})",
                )
            if c.component in seen:
                raise ServiceError(
                    "invalid", f"data_consents.{i}.component: '{c.component}' given twice"
                )
            seen.add(c.component)

    def _linked_snapshots(self, procedure: Procedure, day: date) -> dict[str, LinkedSnapshot]:
        """The sub-procedures of a linked group, frozen with the group on the day of receipt."""
        out: dict[str, LinkedSnapshot] = {}
        for step in procedure.steps:
            for child in step.children:
                try:
                    sub = self._procedure(child.procedure, day)
                except ServiceError as exc:
                    raise ServiceError(
                        "invalid", T("unknown_linked", reason=exc.text or exc.message)
                    ) from None
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

    def _procedure(self, code: str, day: date) -> Procedure:
        """The version of procedure `code` in force on `day`; ServiceError not_found."""
        try:
            return self.catalog.procedure(code, on=day)
        except KeyError:
            if code in self.catalog.procedures:
                raise ServiceError(
                    "not_found", T("no_version_in_force", code=code, day=day)
                ) from None
            raise ServiceError("not_found", T("unknown_procedure", code=code)) from None

    def validate_submission(self, req: SubmitRequest, actor: Actor) -> None:
        """Raise ServiceError when the submission cannot be accepted; no side effects."""
        if actor.role not in (Role.APPLICANT, Role.INTAKE_OFFICER):
            raise ServiceError("forbidden", T("who_submits"))
        if actor.role is Role.APPLICANT and req.applicant.account not in (None, actor.id):
            raise ServiceError("forbidden", T("own_account"))
        nul = find_nul(req.model_dump(mode="json"))
        if nul:
            raise ServiceError("invalid", MACHINE("nul", where=nul))
        self._check_receivable(self.build_input(req, actor, "pending", datetime.now(UTC)))

    async def allocate_code(self, req: SubmitRequest, actor: Actor | None = None) -> str:
        """The next dossier code for today of the agency whose identifier the code carries:
        the procedure's competent (resolving) agency, or, when MOTCUA_DOSSIER_CODE_AGENCY
        is `centre`, the centre that receives it (`actor`: who submits, whose own centre
        receives when the request names none)."""
        today = datetime.now(UTC).astimezone(TZ).date()
        procedure = self._procedure(req.procedure_code, today)
        agency = procedure.competent_agency
        if self.settings.dossier_code_agency == "centre":
            agency = (
                self._receiving_centre(req, actor, today)
                if actor is not None
                else req.centre_agency or self.settings.centre_agency
            )
        return await asyncio.to_thread(repository.allocate_dossier_code, self.engine, agency, today)

    async def submit(
        self,
        req: SubmitRequest,
        actor: Actor,
        *,
        code: str | None = None,
        submitted_at: datetime | None = None,
    ) -> DossierView:
        """Start the dossier's workflow (id = code), under a new code or under `code`,
        one reserved for this submission earlier (the API reserves one under an
        Idempotency-Key, the portal intake one per portal code). A workflow already
        started under a reserved code is this submission's own, started by an earlier
        attempt: its state is returned. `submitted_at`: when it was filed elsewhere (on
        the national portal), if earlier than now."""
        self.validate_submission(req, actor)  # before consuming a number
        if actor.role is Role.APPLICANT:
            req = req.model_copy(
                update={"applicant": req.applicant.model_copy(update={"account": actor.id})}
            )
        reserved = code is not None
        if code is None:
            code = await self.allocate_code(req, actor)
        now = datetime.now(UTC)
        if submitted_at is not None:
            now = min(now, submitted_at.astimezone(UTC))
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
            raise ServiceError("unavailable", T("start_unconfirmed", code=code)) from None
        try:
            view = await self._query(handle)
        except ServiceError as exc:
            if exc.code != "unavailable":
                raise
            raise ServiceError("unavailable", T("received_no_answer", code=code)) from None
        await self._recorded(code, view.event_seq)
        return view

    async def _recorded(self, code: str, seq: int) -> None:
        """Until the read model holds the dossier's events up to `seq`: a submission
        answers only then, so that the officer's worklist, the lists and tracking read
        right after the answer show the new dossier (as an action answers only once its
        events are recorded: the workflow's `_projected`). At most PROJECTION_PATIENCE;
        once a wait has run out (the read model's database away or far behind), the next
        submissions do not wait until one finds it caught up: it must not stop intake."""
        loop = asyncio.get_running_loop()
        patience = 0.0 if self._projection_late else PROJECTION_PATIENCE.total_seconds()
        deadline = loop.time() + patience
        while True:
            try:
                row = await asyncio.to_thread(repository.get_dossier, self.engine, code)
            except (DBAPIError, DisconnectionError):
                self._projection_late = True
                return
            if row is not None and row.last_event_seq >= seq:
                self._projection_late = False
                return
            if loop.time() >= deadline:
                self._projection_late = True
                return
            await asyncio.sleep(_RECORDED_POLL_SECONDS)

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
                text = Text.from_json(cause.details[0]) if cause.details else None
                raise ServiceError(cause.type, text or cause.message) from None
            raise
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            again = T("again_same_key" if update_id is not None else "again_check_first")
            raise ServiceError(
                "unavailable", T("update_no_answer", code=code, action=action.value, again=again)
            ) from None
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                if any(w in exc.message for w in ("completed", "closed", "closing")):
                    reason = MACHINE("closed_now", code=code, action=action.value)
                    if record_refusal:
                        await self.record_refusal(code, action, cmd, "closed", str(reason))
                    raise ServiceError("closed", reason) from None
                raise ServiceError("not_found", T("no_dossier", code=code)) from None
            if exc.status in _NO_ANSWER:
                raise ServiceError("unavailable", T("nothing_changed")) from None
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
            if exc.status is RPCStatusCode.NOT_FOUND:
                # Past Temporal's retention: the archived history holds it still.
                return await self._archived_detail(code)
            if exc.status in _NO_ANSWER:
                return None
            raise
        return await self._decoded_detail(first.history.events[0], completed[0])

    async def _decoded_detail(
        self, first: HistoryEvent, completed: WorkflowExecutionCompletedEventAttributes
    ) -> DossierDetail:
        """The closed dossier's view (its workflow's result) and applicant (its input)."""
        started = first.workflow_execution_started_event_attributes
        converter = self.client.data_converter
        [view] = await converter.decode(completed.result.payloads, [DossierView])
        [inp] = await converter.decode(started.input.payloads, [DossierInput])
        return DossierDetail(view=view, applicant=inp.applicant)

    async def _archived_detail(self, code: str) -> DossierDetail | None:
        """A closed dossier Temporal has deleted (its namespace's retention ended), read
        from its last run's archived history, checked against the hash recorded when it
        was archived (a changed or missing file: ServiceError "tampered", never read as
        intact). None: no archive to read, or its last run did not complete."""
        if self.archive is None:
            return None
        runs = await asyncio.to_thread(repository.archived_runs, self.engine, code)
        if not runs or runs[-1].status != "completed":
            return None
        try:
            data = await asyncio.to_thread(read_archived, self.archive, code, runs[-1])
        except ArchiveTampered as exc:
            raise ServiceError("tampered", str(exc)) from None
        events = parse_archived(code, data).events
        completed = [
            e.workflow_execution_completed_event_attributes
            for e in events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
        ]
        if not events or not completed:
            return None
        return await self._decoded_detail(events[0], completed[0])

    async def _query(self, handle: WorkflowHandle[DossierWorkflow, DossierView]) -> DossierView:
        view: DossierView = await self._asked(handle, DossierWorkflow.state)
        return view

    async def _asked(self, handle: WorkflowHandle[DossierWorkflow, Any], query: Any) -> Any:
        """A live query, within QUERY_TIMEOUT; a worker that does not answer is
        "unavailable" (503), never an unexpected error.

        Asked again, within that time, while the dossier is only busy: Temporal holds
        back a query that reaches a workflow with a workflow task in flight, one at a
        time by default (the server's history.MaxBufferedQueryCount), and turns the
        others away (RESOURCE_EXHAUSTED, "consistent query buffer is full"); a workflow
        whose last task timed out under load answers none (FAILED_PRECONDITION) until
        the server's next attempt completes. Several officers opening one dossier at
        once, or reading it while others act on it, each get it. (A loop of a few
        lines, not a retry library: the budget is the query's own deadline.)"""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + QUERY_TIMEOUT.total_seconds()
        pause = _BUSY_FIRST_PAUSE
        while True:
            left = deadline - loop.time()
            try:
                return await handle.query(query, rpc_timeout=timedelta(seconds=max(left, 0.1)))
            except RPCError as exc:
                if exc.status is RPCStatusCode.NOT_FOUND:
                    raise ServiceError("not_found", T("no_dossier", code=handle.id)) from None
                busy = exc.status in _BUSY
                if busy and loop.time() + pause < deadline:
                    await asyncio.sleep(pause * random.uniform(0.5, 1.0))
                    pause = min(pause * 2, _BUSY_MAX_PAUSE)
                    continue
                if busy or exc.status in _NO_ANSWER:
                    raise ServiceError(
                        "unavailable", T("query_no_answer", code=handle.id)
                    ) from None
                raise
