"""A personal-data request (Law 91/2025/QH15, Decree 356/2025/ND-CP): a data subject asks
to see, correct or restrict the personal data the centre holds about them, and must be
answered within the statutory time (2 working days, configurable).

The workflow opens the request (the activity records it and computes the time from the
working calendar), then answers and watches the clock at once: an access request is
answered by the export activity, a correction or restriction by a leader's decision
(`decide`, an update) carried out by an activity. If the time runs out first, the request
is escalated (marked late for the centre's leaders) and still answered when it can be.
The workflow id is the request id ("pdr-<uuid>"): no personal data outside payloads."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from activities.contracts import (
    DECIDE_DATA_REQUEST,
    ESCALATE_DATA_REQUEST,
    EXPORT_PERSONAL_DATA,
    OPEN_DATA_REQUEST,
    DataRequestAnswer,
    DataRequestDecided,
    DataRequestDecision,
    DataRequestEscalation,
    DataRequestInput,
    DataRequestOpened,
)
from domain.data_requests import RequestKind, RequestStatus

# The database may be down for a while: keep trying, at most once a minute; the
# escalation timer runs meanwhile, so a long outage is seen as a late request.
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2,
    maximum_interval=timedelta(seconds=60),
)
STORE_TIMEOUT = timedelta(minutes=2)


class DataRequestState(BaseModel):
    request_id: str
    kind: str
    status: str
    due_at: str | None = None  # ISO; None until opened
    escalated: bool = False
    answer: DataRequestAnswer | None = None


@workflow.defn(name="DataRequestWorkflow")
class DataRequestWorkflow:
    @workflow.init
    def __init__(self, inp: DataRequestInput) -> None:
        self.inp = inp
        self.status = RequestStatus.RECEIVED.value
        self.due_at: str | None = None
        self.escalated = False
        self.decision: DataRequestDecision | None = None
        self.answer: DataRequestAnswer | None = None

    @workflow.run
    async def run(self, inp: DataRequestInput) -> DataRequestState:
        received = inp.model_copy(update={"received_at": workflow.now()})
        opened = await workflow.execute_activity(
            OPEN_DATA_REQUEST,
            received,
            result_type=DataRequestOpened,
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
            summary="record the request and its statutory time",
        )
        self.due_at = opened.due_at.isoformat()
        # Answering and the clock run side by side: the answer may wait for a leader.
        answering = asyncio.create_task(self._answer(received))
        left = max(opened.due_at - workflow.now(), timedelta(0))
        with suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self.answer is not None,
                timeout=left,
                timeout_summary="the statutory time to answer",
            )
        if self.answer is None:
            self.escalated = True
            await workflow.execute_activity(
                ESCALATE_DATA_REQUEST,
                DataRequestEscalation(request_id=inp.request_id, at=workflow.now()),
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
                summary="the request is late: escalate",
            )
        await answering
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    async def _answer(self, inp: DataRequestInput) -> None:
        if inp.kind == RequestKind.ACCESS:
            answer = await workflow.execute_activity(
                EXPORT_PERSONAL_DATA,
                inp,
                result_type=DataRequestAnswer,
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
                summary="export what is held about the data subject",
            )
        else:
            await workflow.wait_condition(lambda: self.decision is not None)
            assert self.decision is not None
            answer = await workflow.execute_activity(
                DECIDE_DATA_REQUEST,
                DataRequestDecided(
                    request_id=inp.request_id,
                    kind=inp.kind,
                    account=inp.account,
                    corrections=inp.corrections,
                    decision=self.decision,
                    at=workflow.now(),
                ),
                result_type=DataRequestAnswer,
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
                summary="carry out the leader's decision",
            )
        self.status = answer.status
        self.answer = answer

    @workflow.update
    async def decide(self, decision: DataRequestDecision) -> DataRequestState:
        """A leader's decision on a correction or restriction; answers once carried out."""
        self.decision = decision
        await workflow.wait_condition(lambda: self.answer is not None)
        return self.state()

    @decide.validator
    def _may_decide(self, decision: DataRequestDecision) -> None:
        # Rejected updates leave no trace in the history.
        if self.inp.kind == RequestKind.ACCESS:
            raise ApplicationError("an access request is answered by its export", type="access")
        if self.decision is not None:
            raise ApplicationError("the request is already decided", type="decided")

    @workflow.query
    def state(self) -> DataRequestState:
        return DataRequestState(
            request_id=self.inp.request_id,
            kind=self.inp.kind,
            status=self.status,
            due_at=self.due_at,
            escalated=self.escalated,
            answer=self.answer,
        )
