"""One PAKN item (phản ánh, kiến nghị) as a durable workflow: filed, routed to the agency
that answers it, answered by an officer of that agency, escalated to its leader when the
statutory time runs out, and its answer published and sent to the filer
(domain/feedback.py holds the rules; activities/feedback.py writes the read model and
the outbox).

The deadline is computed once from the calendar frozen into the input, so a replay
computes the same instant. The workflow sleeps to it unless the answer comes first;
at the deadline it records the escalation (once) and keeps waiting: a late answer is
still an answer. The `answer` update's validator refuses a caller who is not an officer
of the routed agency before anything is written to history."""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from activities.contracts import RECORD_FEEDBACK, RecordFeedbackInput
from domain.feedback import (
    AnswerInput,
    FeedbackEvent,
    FeedbackInput,
    FeedbackStatus,
    FeedbackView,
    due_at,
    may_answer,
)

# The read model may be down for a while: keep writing, every item's record matters.
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2,
    maximum_interval=timedelta(minutes=1),
)
RECORD_TIMEOUT = timedelta(seconds=30)


@workflow.defn(name="FeedbackWorkflow")
class FeedbackWorkflow:
    @workflow.init
    def __init__(self, inp: FeedbackInput) -> None:
        self.inp = inp
        self.view = FeedbackView(
            code=inp.code,
            status=FeedbackStatus.OPEN,
            agency=inp.agency,
            due_at=due_at(inp.calendar, inp.filed_at, inp.answer_time),
        )
        self.answer: AnswerInput | None = None
        self.published = False  # the answer is in the read model and the outbox

    @workflow.run
    async def run(self, inp: FeedbackInput) -> FeedbackView:
        await self._record(FeedbackEvent(kind="filed", at=inp.filed_at))
        left = self.view.due_at - workflow.now()
        if left > timedelta(0):
            with suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self.answer is not None,
                    timeout=left,
                    timeout_summary="the statutory time to answer",
                )
        if self.answer is None:
            # Late: the agency's leader is told; the item waits for its answer still.
            self.view.escalated_at = workflow.now()
            self.view.late = True
            await self._record(
                FeedbackEvent(
                    kind="escalated",
                    at=self.view.escalated_at,
                    comment=f"Quá hạn trả lời phản ánh, kiến nghị {inp.code}",
                )
            )
            await workflow.wait_condition(lambda: self.answer is not None)
        assert self.answer is not None
        at = workflow.now()
        self.view.status = FeedbackStatus.ANSWERED
        self.view.answered_at = at
        self.view.answered_by = self.answer.actor.id
        self.view.late = at > self.view.due_at
        await self._record(
            FeedbackEvent(kind="answered", at=at, actor=self.answer.actor),
            answer=self.answer.text,
        )
        self.published = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.view

    async def _record(self, event: FeedbackEvent, answer: str | None = None) -> None:
        await workflow.execute_activity(
            RECORD_FEEDBACK,
            RecordFeedbackInput(item=self.inp, view=self.view, event=event, answer=answer),
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
            summary=f"record {event.kind}",
        )

    @workflow.update
    async def answer_item(self, inp: AnswerInput) -> FeedbackView:
        """An officer of the routed agency answers; the answer is recorded, published
        and sent before the update returns."""
        self.answer = inp
        await workflow.wait_condition(lambda: self.published)
        return self.view

    @answer_item.validator
    def _may_answer(self, inp: AnswerInput) -> None:
        # Validators run before the update is written to history: a refusal leaves no trace.
        if self.answer is not None:
            raise ApplicationError("already answered", type="wrong_step")
        if not may_answer(inp.actor, self.inp.agency):
            raise ApplicationError(self.inp.agency, type="forbidden")

    @workflow.query
    def state(self) -> FeedbackView:
        return self.view
