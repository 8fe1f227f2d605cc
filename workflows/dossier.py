"""DossierWorkflow: one durable workflow per dossier, id = dossier code.

The rules live in domain.machine.DossierMachine; this class gives them
durability. Officer and applicant actions arrive as updates (one per action,
each with a validator that refuses with the reason before anything is written
to history), timers wake the loop for step budgets, the apology warning, the
appointment and the supplement deadline, and activities record every event in
the SQL read model and hand the dossier to the receiving agency's own worker.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    WorkflowAlreadyStartedError,
)
from temporalio.exceptions import (
    TimeoutError as ActivityTimeoutError,
)
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        DATA_SOURCE_NON_RETRYABLE,
        EXTEND_CALENDAR,
        FETCH_COMPONENT,
        RECEIVE_HANDOFF,
        RECORD_EVENTS,
        SEAL_RESULT,
        SIGN_RESULT,
        SIGNING_NON_RETRYABLE,
        ExtendCalendarInput,
        FetchedComponent,
        FetchRequest,
        HandoffAck,
        HandoffInput,
        RecordEventsInput,
        RecordEventsResult,
        SealResultInput,
        SignResultInput,
    )
    from domain.calendar import WorkingCalendar
    from domain.catalog import agency_task_queue
    from domain.datasources import FetchOutcome
    from domain.dossier import (
        Action,
        ActionInput,
        ChildSignal,
        DossierDetail,
        DossierInput,
        DossierView,
        MoveAgencyInput,
        ResultDocument,
        Status,
    )
    from domain.i18n import Text
    from domain.machine import DossierMachine, Refusal
    from domain.machine.messages import T

DOSSIER_STATUS = SearchAttributeKey.for_keyword("DossierStatus")
PROCEDURE_CODE = SearchAttributeKey.for_keyword("ProcedureCode")
AGENCY_CODE = SearchAttributeKey.for_keyword("AgencyCode")
STATUTORY_DEADLINE = SearchAttributeKey.for_datetime("StatutoryDeadline")
ESCALATED = SearchAttributeKey.for_bool("Escalated")
SEARCH_ATTRIBUTES = {
    "DossierStatus": "Keyword",
    "ProcedureCode": "Keyword",
    "AgencyCode": "Keyword",
    "StatutoryDeadline": "Datetime",
    "Escalated": "Bool",
}

# The read model must catch up however long the database is away: retry forever,
# backing off to a minute. Events are idempotent by id, so retries never double rows.
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
# A handoff waits for the receiving agency's worker; lateness is caught by the
# step budget's escalation, not by giving up.
HANDOFF_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=["WrongAgency"],
)
# Signing fails often in provincial systems (token unplugged, TSA down): retry with
# backoff for a while, then give the step back to the signer with the reason. Key and
# certificate problems are not retried.
SIGN_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=SIGNING_NON_RETRYABLE,
)
SIGNING_PATIENCE = timedelta(minutes=10)
# One attempt at rendering and signing (or sealing) a result. It is CPU work, done in a
# worker's thread: when a worker renders many at once they share its one interpreter, and
# on a loaded two-core machine a 2-minute attempt ran out and was retried (the
# multi-worker test, in CI). An attempt that hangs on the TSA or OCSP is still cut off
# well within SIGNING_PATIENCE.
SIGNING_ATTEMPT = timedelta(minutes=5)
# An action that arrives with the handoff's acknowledgement in one workflow task waits
# this long for it to land (it lands at once); one that is simply too early is refused
# after it.
HANDOFF_LANDING = timedelta(seconds=2)
# Histories recorded before results were signed replay without these activities.
SIGNED_RESULTS_PATCH = "signed-results-v1"
# Histories recorded before the intake checklist replay with online dossiers accepted
# whatever their components (domain.machine.intake: `held_for_components`).
INTAKE_CHECKLIST_PATCH = "intake-checklist-v1"
# An action answers once the read model holds its events (read-your-writes); histories
# recorded before answered at once. It waits so long at most, and once it has waited in
# vain the next actions do not wait until the read model has caught up: with the read
# model's database away, the officers still act (the read model catches up later).
PROJECTED_ANSWERS_PATCH = "answer-after-projection-v1"
PROJECTION_PATIENCE = timedelta(seconds=10)
# Components taken from a national database at intake (domain/machine/reuse.py): only
# dossiers with the citizen's consent schedule the fetch, and they did not exist before.
DATA_SOURCES_PATCH = "data-sources-v1"
# A national database that does not answer is asked again for about two minutes (eight
# attempts); then the component is left to the intake officer as a paper (recorded as
# `unavailable`). A refusal of the centre's credentials is not retried.
FETCH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=8,
    non_retryable_error_types=DATA_SOURCE_NON_RETRYABLE,
)
# Assignment by name (the `assign` and `claim` updates). A history without the marker has
# no assignment, so every step in it stays open to its role and agency, as it was.
ASSIGNMENT_PATCH = "assignment-v1"
# Mergers (the `move_agency` update): a history without the marker never moved an
# agency's work, and replays as it ran.
AGENCY_MOVES_PATCH = "agency-moves-v1"
# A move while a handoff to the merged agency is in flight (sent, not acknowledged: its
# worker may be gone) cancels it and sends the dossier to the successor instead. Histories
# without the marker kept waiting on the old agency's queue.
HANDOFF_REDIRECT_PATCH = "agency-moves-handoff-v1"
# Fees checked against the catalog, collected at the counter, required before return
# (domain/machine/fees.py). Histories without the marker take any payment, as before.
FEES_PATCH = "fees-v1"

# Keep a year of calendar ahead of the clock; extend through an activity so the
# new data is recorded in history and replays identically.
CALENDAR_MARGIN = timedelta(days=400)


def _failure_reason(exc: ActivityError) -> Text | str:
    cause = exc.cause
    if isinstance(cause, ActivityTimeoutError):
        return T("signing_no_answer", minutes=int(SIGNING_PATIENCE.total_seconds() // 60))
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause or exc)


def _refused(r: Refusal | Text, code: str = "") -> ApplicationError:
    # The type carries the refusal code so the API can choose 403 / 409 / 422; the
    # details, the message's key and parameters, so it can answer in the caller's language.
    if isinstance(r, Text):
        return ApplicationError(str(r), r.to_json(), type=code, non_retryable=True)
    details = (r.text.to_json(),) if r.text is not None else ()
    return ApplicationError(r.message, *details, type=r.code, non_retryable=True)


@workflow.defn
class DossierWorkflow:
    @workflow.init
    def __init__(self, inp: DossierInput) -> None:
        self.m = DossierMachine(inp)
        self.m.signs_results = workflow.patched(SIGNED_RESULTS_PATCH)
        self.m.holds_incomplete = workflow.patched(INTAKE_CHECKLIST_PATCH)
        self.m.collects_fees = workflow.patched(FEES_PATCH)
        self._answers_after_projection = workflow.patched(PROJECTED_ANSWERS_PATCH)
        # Every event up to this one is in the read model (a carried state was settled).
        self._recorded_seq = self.m.s.event_seq
        self._projection_late = False  # an action waited for the read model in vain
        # Start in __init__ so that updates delivered with the first task see the intake step.
        self.m.start(workflow.now())
        self._changed = False
        self._handoff: asyncio.Task[None] | None = None
        self._handoff_to: str | None = None  # the agency the handoff in flight goes to
        self._published: dict[str, object] = {}
        self._told_parent: tuple[object, object] | None = None

    @workflow.run
    async def run(self, inp: DossierInput) -> DossierView:
        if inp.parent_code and inp.carried_state is None:
            # This worker belongs to the receiving agency: telling the parent is the
            # acknowledgement of the hop (Decree 63/2024 Art. 7(4)).
            await self._tell_parent(
                "child_acknowledged",
                ChildSignal(code=inp.code, at=workflow.now(), worker=workflow.info().task_queue),
            )
        while True:
            await self._keep_calendar_ahead()
            await self._record()
            if self.m.closed:
                break
            await self._fetch_components()
            await self._report_progress_to_parent()
            self._send_handoff_if_due()
            await self._start_children()
            if self._should_continue_as_new():
                await self._settle()
                workflow.continue_as_new(
                    inp.model_copy(update={"carried_state": self.m.s, "calendar": self.m.calendar})
                )
            await self._sleep_until_something_happens()
        if self._handoff is not None and not self._handoff.done():
            self._handoff.cancel()
        await self._settle()
        await self._stop_running_children()
        view = self.m.view(workflow.now())
        if inp.parent_code:
            await self._tell_parent(
                "child_finished",
                ChildSignal(
                    code=inp.code,
                    at=workflow.now(),
                    outcome=view.outcome,
                    status=view.status,
                    documents=self.m.s.documents,
                ),
            )
        return view

    # -- the loop ------------------------------------------------------------------

    async def _sleep_until_something_happens(self) -> None:
        self._changed = False
        wake = self.m.next_wake()
        now = workflow.now()
        if wake is not None and wake <= now:
            self.m.on_time(now)
            return
        timeout = None if wake is None else wake - now
        try:
            await workflow.wait_condition(
                lambda: self._changed or self.m.has_new_events,
                timeout=timeout,
                timeout_summary=f"next deadline {wake.isoformat()}" if wake else None,
            )
        except TimeoutError:
            self.m.on_time(workflow.now())

    async def _settle(self) -> None:
        """Before the run ends: no update in flight (one may arrive while events are being
        recorded, and a signature's update runs activities), every event recorded."""
        while True:
            # An action waits for its events to be recorded: record them, or it never ends.
            await workflow.wait_condition(
                lambda: (
                    workflow.all_handlers_finished()
                    or (self._answers_after_projection and self.m.has_new_events)
                )
            )
            if not self.m.has_new_events:
                return
            await self._record()

    def _should_continue_as_new(self) -> bool:
        return workflow.info().is_continue_as_new_suggested() and self._handoff is None

    async def _record(self) -> None:
        """Write the events emitted so far to the read model (with their forms and
        notifications). One batch per loop turn, so that a burst of actions never
        keeps the loop from its timers or from continuing as new."""
        if not self.m.has_new_events:
            return
        events = self.m.drain()
        view = self.m.view(workflow.now())
        await workflow.execute_activity(
            RECORD_EVENTS,
            RecordEventsInput(dossier=view, applicant=self.m.inp.applicant, events=events),
            result_type=RecordEventsResult,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RECORD_RETRY,
            summary=f"record {len(events)} event(s) up to #{events[-1].seq}",
        )
        self._recorded_seq = events[-1].seq
        self._projection_late = False
        self._publish(view)

    async def _projected(self) -> None:
        """Until the read model holds every event emitted so far: an action answers only
        then, so that whoever reads lists, tracking or the worklist after the answer sees
        its effect. At most PROJECTION_PATIENCE, and not at all while an earlier action's
        wait has run out and the read model has not caught up since: a read model whose
        database is away must not stop the officers (its recording is retried until it is
        back)."""
        seq = self.m.s.event_seq
        if not self._answers_after_projection or self._recorded_seq >= seq:
            return
        if self._projection_late:
            return  # an earlier action waited in vain: not again until it has caught up
        try:
            await workflow.wait_condition(
                lambda: self._recorded_seq >= seq,
                timeout=PROJECTION_PATIENCE,
                timeout_summary="the read model records the action",
            )
        except TimeoutError:
            self._projection_late = True

    def _publish(self, view: DossierView) -> None:
        """Keep the operator-facing search attributes current (never personal data)."""
        current = view.current_step
        values: dict[str, object] = {
            "status": view.status.value,
            "agency": current.agency if current else view.competent_agency,
            "deadline": view.appointment_at,
            "escalated": bool(view.escalations),
        }
        if values == self._published:
            return
        updates: list[SearchAttributeUpdate[Any]] = [
            DOSSIER_STATUS.value_set(view.status.value),
            PROCEDURE_CODE.value_set(view.procedure_code),
            AGENCY_CODE.value_set(str(values["agency"])),
            ESCALATED.value_set(bool(values["escalated"])),
        ]
        if view.appointment_at is not None:
            updates.append(STATUTORY_DEADLINE.value_set(view.appointment_at))
        workflow.upsert_search_attributes(updates)
        self._published = values

    async def _keep_calendar_ahead(self) -> None:
        cal = self.m.calendar
        horizon = workflow.now() + CALENDAR_MARGIN
        clock = self.m.s.clock
        if clock is not None and clock.due_at is not None:
            horizon = max(horizon, clock.due_at + CALENDAR_MARGIN)
        if cal.covers(horizon.date()):
            return
        more = await workflow.execute_activity(
            EXTEND_CALENDAR,
            ExtendCalendarInput(first_year=cal.valid_to.year + 1, last_year=horizon.year + 1),
            result_type=WorkingCalendar,
            start_to_close_timeout=timedelta(minutes=1),
        )
        self.m.calendar = cal.merged(more)

    # -- data instead of paper: components from national databases ----------------

    async def _fetch_components(self) -> None:
        """Once the dossier is recorded, take each consented component from its database
        (an activity: the workflow does no I/O); the answers are applied together, so a
        missing record and a missing file make one supplement request."""
        requests = self.m.components_to_fetch()
        if not requests or not workflow.patched(DATA_SOURCES_PATCH):
            return
        answers = [await self._fetch(r) for r in requests]
        self.m.components_fetched(answers, workflow.now())
        self._changed = True

    async def _fetch(self, request: FetchRequest) -> FetchedComponent:
        try:
            answer: FetchedComponent = await workflow.execute_activity(
                FETCH_COMPONENT,
                request,
                result_type=FetchedComponent,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=FETCH_RETRY,
                summary=f"take {request.component} from {request.source.database.value}",
            )
        except ActivityError as exc:
            cause = exc.cause
            reason = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
            return FetchedComponent(
                component=request.component,
                database=request.source.database,
                outcome=FetchOutcome.UNAVAILABLE,
                message=reason,
            )
        return answer

    # -- handoff to the receiving agency -------------------------------------------

    def _send_handoff_if_due(self) -> None:
        if self._handoff is not None:
            return
        run = self.m.pending_handoff()
        if run is None:
            return
        clock = self.m.s.clock
        request = HandoffInput(
            dossier_code=self.m.inp.code,
            step_id=run.step_id,
            run_index=len(self.m.s.runs) - 1,
            from_agency=self.m.inp.centre_agency,
            to_agency=run.agency,
            procedure_code=self.m.procedure.code,
            procedure_name=self.m.procedure.name,
            documents=self.m.s.documents,
            appointment_at=clock.due_at if clock else None,
            sent_at=workflow.now(),
        )
        self._handoff = asyncio.create_task(self._hand_off(request))
        self._handoff_to = request.to_agency

    async def _hand_off(self, request: HandoffInput) -> None:
        # Runs on the receiving agency's task queue: only that agency's worker can
        # acknowledge, which is how agencies stay separate systems.
        try:
            ack = await workflow.execute_activity(
                RECEIVE_HANDOFF,
                request,
                result_type=HandoffAck,
                task_queue=agency_task_queue(request.to_agency),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=HANDOFF_RETRY,
                summary=f"hand dossier to {request.to_agency}",
            )
        except ActivityError as exc:
            if isinstance(exc.cause, CancelledError):
                return  # sent to a merged agency's successor instead, or the run ended
            raise
        self.m.handoff_acknowledged(ack.model_dump(mode="json"), workflow.now())
        self._handoff = None
        self._handoff_to = None
        self._changed = True

    # -- linked sub-procedures: child dossiers at other agencies ---------------------

    async def _start_children(self) -> None:
        for child in self.m.children_to_start():
            # ABANDON: a child is the agency's own dossier; it must survive this run
            # continuing as new. It reports back by signal, by id, whatever the run.
            # Already started (before a continue-as-new)? Then it is running: fine.
            with contextlib.suppress(WorkflowAlreadyStartedError):
                await workflow.start_child_workflow(
                    DossierWorkflow.run,
                    self.m.child_input(child, workflow.now()),
                    id=child.code,
                    task_queue=agency_task_queue(child.agency),
                    parent_close_policy=ParentClosePolicy.ABANDON,
                    static_summary=f"{child.procedure_code} for {self.m.inp.code}",
                )
            self.m.child_started(child, workflow.now())
            self._changed = True

    async def _tell_parent(self, signal: str, message: ChildSignal) -> None:
        assert self.m.inp.parent_code is not None
        try:
            await workflow.get_external_workflow_handle(self.m.inp.parent_code).signal(
                signal, message
            )
        except ApplicationError as exc:
            # The group was closed meanwhile (withdrawn, refused): nobody to tell.
            workflow.logger.warning("could not tell %s: %s", self.m.inp.parent_code, exc)

    async def _report_progress_to_parent(self) -> None:
        if self.m.inp.parent_code is None:
            return
        c = self.m.s.clock
        progress = (self.m.s.status, c.due_at if c else None)
        if progress == self._told_parent:
            return
        self._told_parent = progress
        await self._tell_parent(
            "child_progress",
            ChildSignal(
                code=self.m.inp.code,
                at=workflow.now(),
                status=progress[0],
                appointment_at=progress[1],
            ),
        )

    async def _stop_running_children(self) -> None:
        for child in self.m.running_children():
            try:
                await workflow.get_external_workflow_handle(child.code).signal(
                    "stop_by_parent",
                    str(T("group_ended", code=self.m.inp.code, outcome=self.m.s.outcome)),
                )
            except ApplicationError as exc:
                workflow.logger.warning("could not stop %s: %s", child.code, exc)

    @workflow.signal
    def child_acknowledged(self, message: ChildSignal) -> None:
        self.m.child_acknowledged(message.code, message.worker, workflow.now())
        self._changed = True

    @workflow.signal
    def child_progress(self, message: ChildSignal) -> None:
        self.m.child_progress(message.code, message.status, message.appointment_at, workflow.now())
        self._changed = True

    @workflow.signal
    def child_finished(self, message: ChildSignal) -> None:
        self.m.child_finished(
            message.code,
            message.outcome or "unknown",
            message.status or Status.STOPPED,
            workflow.now(),
            message.documents,
        )
        self._changed = True

    @workflow.signal
    def stop_by_parent(self, reason: str) -> None:
        self.m.stop_by_parent(reason, workflow.now())
        self._changed = True

    # -- query ---------------------------------------------------------------------

    @workflow.query
    def state(self) -> DossierView:
        return self.m.view(workflow.now())

    @workflow.query
    def detail(self) -> DossierDetail:
        # A query is not recorded in history: adding one changes no replay.
        return DossierDetail(view=self.m.view(workflow.now()), applicant=self.m.inp.applicant)

    # -- actions: one update per action, each validated before it is accepted ------

    def _check(self, action: Action, cmd: ActionInput) -> None:
        try:
            self.m.check(action, cmd, workflow.now())
        except Refusal as r:
            if r.code == "wrong_step" and self.m.pending_handoff() is not None:
                # An automatic handoff is due or in flight, and the agency's
                # acknowledgement may be in this very workflow task, applied just after
                # the validators run: the handler waits for it, then judges.
                return
            raise _refused(r) from None

    async def _handle(self, action: Action, cmd: ActionInput) -> DossierView:
        if self.m.pending_handoff() is not None and self._needs_handoff_first(action, cmd):
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self.m.pending_handoff() is None, timeout=HANDOFF_LANDING
                )
            if self.m.pending_handoff() is not None:
                # Not landed yet (the agency's worker is slow or down): say so, rather than
                # refuse the action for a step that is about to end. The caller may wait
                # for the handoff and ask again (the API does).
                raise _refused(
                    Refusal("handoff_in_flight", T("handoff_in_flight", code=self.m.inp.code))
                )
        try:
            return await self._act_or_issue(action, cmd)
        finally:
            # A refusal or a failed signature answers after its events too (if it has any).
            await self._projected()

    def _needs_handoff_first(self, action: Action, cmd: ActionInput) -> bool:
        try:
            self.m.check(action, cmd, workflow.now())
        except Refusal as r:
            return r.code == "wrong_step"
        return False

    def _act(self, action: Action, cmd: ActionInput) -> DossierView:
        now = workflow.now()
        try:
            self.m.apply(action, cmd, now)
        except Refusal as r:
            # Only reachable if state moved between validation and handling.
            raise _refused(r) from None
        self._changed = True
        return self.m.view(now)

    async def _act_or_issue(self, action: Action, cmd: ActionInput) -> DossierView:
        if not self.m.issues_result(action):
            return self._act(action, cmd)
        return await self._issue_result(action, cmd)

    async def _issue_result(self, action: Action, cmd: ActionInput) -> DossierView:
        """Render the result, sign it with the signer's key (on the signing agency's
        worker), seal it with the centre's (on this dossier's worker), and only then take
        the action. Nobody acts on the step meanwhile; if signing keeps failing, the step
        goes back to the signer with the reason, recorded as a `signing_failed` event."""
        try:
            request = self.m.begin_issuing(action, cmd, workflow.now())
        except Refusal as r:
            raise _refused(r) from None
        self._changed = True
        try:
            signed = await workflow.execute_activity(
                SIGN_RESULT,
                SignResultInput(
                    dossier=self.m.view(workflow.now()),
                    applicant=self.m.inp.applicant,
                    request=request,
                ),
                result_type=ResultDocument,
                task_queue=agency_task_queue(request.signing_agency),
                start_to_close_timeout=SIGNING_ATTEMPT,
                schedule_to_close_timeout=SIGNING_PATIENCE,
                retry_policy=SIGN_RETRY,
                summary=f"sign the result as {request.signer.id}",
            )
            sealed = await workflow.execute_activity(
                SEAL_RESULT,
                SealResultInput(
                    dossier_code=self.m.inp.code,
                    document=signed,
                    seal_agency=request.seal_agency,
                ),
                result_type=ResultDocument,
                start_to_close_timeout=SIGNING_ATTEMPT,
                schedule_to_close_timeout=SIGNING_PATIENCE,
                retry_policy=SIGN_RETRY,
                summary=f"seal the result for {request.seal_agency}",
            )
        except ActivityError as exc:
            reason = _failure_reason(exc)
            self.m.issuing_failed(str(reason), workflow.now())
            self._changed = True
            raise _refused(T("signing_failed", reason=reason), "signing_failed") from None
        try:
            self.m.finish_issuing(action, cmd, sealed, workflow.now())
        except Refusal as r:
            # The dossier moved on while signing (withdrawn, say): the document is not issued.
            self._changed = True
            raise _refused(r) from None
        self._changed = True
        return self.m.view(workflow.now())

    @workflow.update
    async def accept(self, cmd: ActionInput) -> DossierView:
        return await self._handle(Action.ACCEPT, cmd)

    @accept.validator
    def _accept_ok(self, cmd: ActionInput) -> None:
        self._check(Action.ACCEPT, cmd)

    @workflow.update
    async def request_supplement(self, cmd: ActionInput) -> DossierView:
        return await self._handle(Action.REQUEST_SUPPLEMENT, cmd)

    @request_supplement.validator
    def _request_supplement_ok(self, cmd: ActionInput) -> None:
        self._check(Action.REQUEST_SUPPLEMENT, cmd)

    @workflow.update
    async def supplement(self, cmd: ActionInput) -> DossierView:
        return await self._handle(Action.SUPPLEMENT, cmd)

    @supplement.validator
    def _supplement_ok(self, cmd: ActionInput) -> None:
        self._check(Action.SUPPLEMENT, cmd)

    @workflow.update
    async def refuse(self, cmd: ActionInput) -> DossierView:
        return await self._handle(Action.REFUSE, cmd)

    @refuse.validator
    def _refuse_ok(self, cmd: ActionInput) -> None:
        self._check(Action.REFUSE, cmd)

    @workflow.update
    async def forward(self, cmd: ActionInput) -> DossierView:
        return await self._handle(Action.FORWARD, cmd)

    @forward.validator
    def _forward_ok(self, cmd: ActionInput) -> None:
        self._check(Action.FORWARD, cmd)

    @workflow.update
    async def appraise(self, cmd: ActionInput) -> DossierView:
        return await self._handle(Action.APPRAISE, cmd)

    @appraise.validator
    def _appraise_ok(self, cmd: ActionInput) -> None:
        self._check(Action.APPRAISE, cmd)

    @workflow.update
    async def approve(self, cmd: ActionInput) -> DossierView:
        return await self._handle(Action.APPROVE, cmd)

    @approve.validator
    def _approve_ok(self, cmd: ActionInput) -> None:
        self._check(Action.APPROVE, cmd)

    @workflow.update
    async def reject(self, cmd: ActionInput) -> DossierView:
        return await self._handle(Action.REJECT, cmd)

    @reject.validator
    def _reject_ok(self, cmd: ActionInput) -> None:
        self._check(Action.REJECT, cmd)

    @workflow.update
    async def sign(self, cmd: ActionInput) -> DossierView:
        return await self._handle(Action.SIGN, cmd)

    @sign.validator
    def _sign_ok(self, cmd: ActionInput) -> None:
        self._check(Action.SIGN, cmd)

    @workflow.update
    async def pay(self, cmd: ActionInput) -> DossierView:
        return await self._handle(Action.PAY, cmd)

    @pay.validator
    def _pay_ok(self, cmd: ActionInput) -> None:
        self._check(Action.PAY, cmd)

    @workflow.update(name="return")
    async def return_result(self, cmd: ActionInput) -> DossierView:
        return await self._handle(Action.RETURN, cmd)

    @return_result.validator
    def _return_ok(self, cmd: ActionInput) -> None:
        self._check(Action.RETURN, cmd)

    @workflow.update
    async def withdraw(self, cmd: ActionInput) -> DossierView:
        return await self._handle(Action.WITHDRAW, cmd)

    @withdraw.validator
    def _withdraw_ok(self, cmd: ActionInput) -> None:
        self._check(Action.WITHDRAW, cmd)

    @workflow.update
    async def schedule_inspection(self, cmd: ActionInput) -> DossierView:
        return await self._handle(Action.SCHEDULE_INSPECTION, cmd)

    @schedule_inspection.validator
    def _schedule_inspection_ok(self, cmd: ActionInput) -> None:
        self._check(Action.SCHEDULE_INSPECTION, cmd)

    @workflow.update
    async def assign(self, cmd: ActionInput) -> DossierView:
        return await self._assign_or_claim(Action.ASSIGN, cmd)

    @assign.validator
    def _assign_ok(self, cmd: ActionInput) -> None:
        self._check(Action.ASSIGN, cmd)

    @workflow.update
    async def claim(self, cmd: ActionInput) -> DossierView:
        return await self._assign_or_claim(Action.CLAIM, cmd)

    @claim.validator
    def _claim_ok(self, cmd: ActionInput) -> None:
        self._check(Action.CLAIM, cmd)

    async def _assign_or_claim(self, action: Action, cmd: ActionInput) -> DossierView:
        # The marker records where assignment began in this history; from it on, the step
        # may be held by name (who acts is then the assignee: DossierMachine._authorise).
        if not workflow.patched(ASSIGNMENT_PATCH):
            raise _refused(Refusal("wrong_step", T("assignment_unavailable", code=self.m.inp.code)))
        return await self._handle(action, cmd)

    @workflow.update
    async def request_extension(self, cmd: ActionInput) -> DossierView:
        return await self._handle(Action.REQUEST_EXTENSION, cmd)

    @request_extension.validator
    def _request_extension_ok(self, cmd: ActionInput) -> None:
        self._check(Action.REQUEST_EXTENSION, cmd)

    # -- mergers: an agency's open work taken over by its successor -------------------

    @workflow.update
    async def move_agency(self, cmd: MoveAgencyInput) -> DossierView:
        if not workflow.patched(AGENCY_MOVES_PATCH):
            raise _refused(Refusal("wrong_step", T("move_unavailable", code=self.m.inp.code)))
        now = workflow.now()
        try:
            self.m.move_agency(cmd, now)
        except Refusal as r:
            raise _refused(r) from None
        if (
            self._handoff is not None
            and self._handoff_to == cmd.from_agency
            and workflow.patched(HANDOFF_REDIRECT_PATCH)
        ):
            # Nobody may acknowledge for the merged agency any more: the loop sends the
            # dossier to the successor, whose worker acknowledges it.
            self._handoff.cancel()
            self._handoff = None
            self._handoff_to = None
        self._changed = True
        try:
            return self.m.view(now)
        finally:
            await self._projected()

    @move_agency.validator
    def _move_agency_ok(self, cmd: MoveAgencyInput) -> None:
        try:
            self.m.check_move(cmd)
        except Refusal as r:
            raise _refused(r) from None
