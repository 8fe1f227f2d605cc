"""The citizen's voice (PAKN) as the API and the CLI share it: filing an item starts its
FeedbackWorkflow on the centre's task queue (routed to the agency that answers it, its
deadline frozen with the calendar); answering it is the workflow's `answer_item` update;
reading comes from the read model the workflow writes."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain.dossier import Actor
from domain.feedback import (
    AnswerInput,
    FeedbackInput,
    FeedbackKind,
    FeedbackStatus,
    FeedbackView,
    Filer,
    answer_days,
    due_at,
    routed_agency,
)
from infra.settings import Settings
from services.dossiers import ServiceError, calendar_snapshot
from store.models import DossierRow
from store.repository.feedback import get_feedback
from workflows.feedback import FeedbackWorkflow

UPDATE_TIMEOUT = timedelta(seconds=15)
# How long filing waits for the workflow's first record (read your writes). The item is
# durable once started: past this the answer says so, and the list shows it moments later.
RECORDED_WAIT = 20.0
# Crockford's base32 without look-alikes: read over the phone, typed at a counter.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_code() -> str:
    return "PAKN-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))


class FeedbackService:
    def __init__(self, client: Client, engine: Engine, settings: Settings) -> None:
        self.client = client
        self.engine = engine
        self.settings = settings

    def route(self, dossier: DossierRow | None) -> str:
        if dossier is None:
            return self.settings.centre_agency
        return routed_agency(
            centre=dossier.centre_agency,
            competent=dossier.competent_agency,
            current=dossier.current_agency,
            closed=dossier.closed_at is not None,
        )

    async def file(
        self,
        *,
        kind: FeedbackKind,
        text: str,
        filer: Filer,
        dossier: DossierRow | None,
        channel: str,
        now: datetime | None = None,
    ) -> FeedbackView:
        """Start the item's workflow; returns once it is recorded (the caller reads it)."""
        filed_at = now or datetime.now(UTC)
        calendar = calendar_snapshot(self.settings, filed_at.astimezone(UTC).year)
        inp = FeedbackInput(
            code=new_code(),
            kind=kind,
            text=text,
            dossier_code=dossier.code if dossier else None,
            agency=self.route(dossier),
            channel=channel,
            filer=filer,
            filed_at=filed_at,
            calendar=calendar,
            answer_time=answer_days(self.settings.feedback_answer_working_days),
        )
        await self.client.start_workflow(
            FeedbackWorkflow.run,
            inp,
            id=inp.code,
            task_queue=self.settings.centre_task_queue,
        )
        # Read your writes: the filing is in the read model before the caller is answered.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RECORDED_WAIT
        pause = 0.02
        while await asyncio.to_thread(get_feedback, self.engine, inp.code) is None:
            if loop.time() > deadline:
                break
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)
        return FeedbackView(
            code=inp.code,
            status=FeedbackStatus.OPEN,
            agency=inp.agency,
            due_at=due_at(calendar, filed_at, inp.answer_time),
        )

    async def answer(self, code: str, actor: Actor, text: str) -> FeedbackView:
        handle = self.client.get_workflow_handle_for(FeedbackWorkflow.run, code)
        try:
            return await handle.execute_update(
                FeedbackWorkflow.answer_item,
                AnswerInput(actor=actor, text=text),
                rpc_timeout=UPDATE_TIMEOUT,
            )
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type:
                raise ServiceError(cause.type, cause.message) from None
            raise
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                raise ServiceError("wrong_step", code) from None
            raise
