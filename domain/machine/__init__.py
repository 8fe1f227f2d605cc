"""The dossier's rules as a pure state machine.

The workflow (workflows/dossier.py) is a thin durable shell around this class:
update validators call `check`, update handlers call `apply`, the main loop
sleeps until `next_wake` and then calls `on_time`, and events drained with
`drain` are recorded by activities. Nothing here does I/O or reads a clock:
`now` is always passed in (workflow.now() in the workflow), and the calendar is
the frozen snapshot in the dossier's input, so the same inputs always give the
same decisions, which is what Temporal replay and the auditors need.

DossierMachine is put together from one class per phase of the procedure:

- _core.py: MachineCore, the state, the current step, `_emit` (the event record); Refusal
- steps.py: StepFlow, entering and finishing steps, the decision, closing; STATUS_FOR_KIND
- intake.py: Intake, submission, receipt, supplements, refusal at intake
- handoff.py: Handoff, the centre's handoff to the competent agency
- processing.py: Processing, appraisal, inspection, approval, signature, payment
- linked.py: LinkedProcedures, the child dossiers of a linked step
- deadlines.py: Deadlines, timers and escalations, the appointment's extension
- closing.py: Closing, return of the result, withdrawal; RETURN_CHANNELS
- assignment.py: Assigning, a step assigned to a named officer (assign) or claimed (claim)
- authorisation.py: Authorisation, who may do what now, `check` and `apply`;
  STEP_ACTIONS, REQUESTS_KEPT
- result.py: ResultIssuing, the signed result
- view.py: LiveView, the DossierView
- reuse.py: DataReuse, components taken from a national database at intake
- merger.py: Merging, an agency's work taken over by its successor (merged communes)
"""

from __future__ import annotations

from domain.machine._core import Refusal
from domain.machine.authorisation import REQUESTS_KEPT, STEP_ACTIONS
from domain.machine.closing import RETURN_CHANNELS
from domain.machine.merger import Merging
from domain.machine.result import ResultIssuing
from domain.machine.reuse import DataReuse
from domain.machine.steps import STATUS_FOR_KIND
from domain.machine.view import LiveView

__all__ = [
    "REQUESTS_KEPT",
    "RETURN_CHANNELS",
    "STATUS_FOR_KIND",
    "STEP_ACTIONS",
    "DossierMachine",
    "Refusal",
]


class DossierMachine(ResultIssuing, LiveView, DataReuse, Merging):
    """Every rule of one dossier; see the phases above."""
