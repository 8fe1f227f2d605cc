"""The receiving agency's side of a handoff. This activity runs only on the
agency's own task queue, in the agency's worker: its acknowledgement is the
proof (Decree 63/2024 Art. 7(4)) that the dossier reached that agency."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import RECEIVE_HANDOFF, HandoffAck, HandoffInput
from activities.errors import database_errors
from store import repository
from store.schemas import HandoffReceipt


class AgencyActivities:
    def __init__(self, engine: Engine, agency_code: str, identity: str | None = None) -> None:
        self.engine = engine
        self.agency_code = agency_code
        self.identity = identity or f"{agency_code}@{socket.gethostname()}:{os.getpid()}"

    @activity.defn(name=RECEIVE_HANDOFF)
    def receive_handoff(self, inp: HandoffInput) -> HandoffAck:
        if inp.to_agency != self.agency_code:
            # A misrouted task queue is a deployment error: never acknowledge for another agency.
            raise ApplicationError(
                f"dossier {inp.dossier_code} is addressed to {inp.to_agency}, "
                f"but this worker serves {self.agency_code}",
                type="WrongAgency",
                non_retryable=True,
            )
        with database_errors(f"receiving {inp.dossier_code}"):
            row = repository.record_handoff(
                self.engine,
                HandoffReceipt(
                    agency_code=self.agency_code,
                    dossier_code=inp.dossier_code,
                    step_id=inp.step_id,
                    run_index=inp.run_index,
                    received_at=datetime.now(UTC),
                    worker_identity=self.identity,
                ),
            )
        return HandoffAck(
            agency=self.agency_code,
            inbox_id=row.id,
            received_at=row.received_at,
            worker=row.worker_identity,
        )
