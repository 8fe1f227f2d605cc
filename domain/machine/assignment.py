"""Assignment (phân công): who holds a step by name.

A leader of the step's agency assigns the step to a named officer of that agency who has
the step's role (and may reassign it); an officer of the step's role may claim a step
nobody holds. Once a step is assigned, its actions are the assignee's alone
(`Authorisation._allowed_now` names the officer); an escalation of the step goes to the
leader who assigned it as well as to the leader role (`Deadlines._escalate`).

An unassigned step is open to every officer of its role and agency, as before assignment
existed: histories recorded before it replay unchanged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.catalog import Role, StepKind
from domain.dossier import Action, ActionInput, AllowedAction, Assignment, StepRun
from domain.machine._core import Refusal
from domain.machine.messages import T, role_of
from domain.machine.steps import StepFlow

# The roles a step may be assigned to by name: officers (not the applicant, not the engine).
ASSIGNABLE_ROLES = frozenset(
    {Role.INTAKE_OFFICER, Role.SPECIALIST, Role.LEADER, Role.SIGNER, Role.RETURN_OFFICER}
)
# Steps nobody takes by hand: the engine hands off, a linked step waits for its children.
_NOT_ASSIGNABLE = frozenset({StepKind.HANDOFF, StepKind.LINKED})


class Assigning(StepFlow):
    """`assign` and `claim`, and who holds the current step by name."""

    def _assignable_run(self) -> StepRun | None:
        """The current run, when it may be assigned to a named officer."""
        run = self.run()
        if run is None or run.role not in ASSIGNABLE_ROLES or run.kind in _NOT_ASSIGNABLE:
            return None
        return run

    def _assignment_actions(self) -> list[AllowedAction]:
        """Assign (a leader of the step's agency, at any time the step is open) and claim
        (an officer of the step's role and agency, while nobody holds it)."""
        run = self._assignable_run()
        if run is None:
            return []
        allowed = [
            AllowedAction(
                action=Action.ASSIGN, role=Role.LEADER, agency=run.agency, step_id=run.step_id
            )
        ]
        if run.assignment is None:
            allowed.append(
                AllowedAction(
                    action=Action.CLAIM, role=run.role, agency=run.agency, step_id=run.step_id
                )
            )
        return allowed

    def _validate_assignment(self, action: Action, cmd: ActionInput) -> None:
        run = self._assignable_run()
        assert run is not None  # authorised: the step is assignable
        if action is Action.CLAIM:
            named = cmd.data.get("assignee")
            if named not in (None, cmd.actor.id) and (
                not isinstance(named, dict) or named.get("id") != cmd.actor.id
            ):
                raise Refusal("invalid", T("claim_for_self"))
            return
        officer = cmd.data.get("assignee")
        if not isinstance(officer, dict) or not str(officer.get("id") or "").strip():
            raise Refusal("invalid", T("assignee_missing"))
        who = f"{officer.get('name') or officer['id']} ({officer['id']})"
        roles = officer.get("roles")
        if officer.get("agency") != run.agency or not (
            isinstance(roles, list) and run.role.value in roles
        ):
            their = (
                T("assignee_roles", roles=", ".join(map(str, roles)), agency=officer.get("agency"))
                if isinstance(roles, list) and roles
                else T("assignee_unknown")
            )
            holder = role_of(run.role, run.agency)
            raise Refusal(
                "invalid",
                T("assignee_not_of_step", who=who, step=run.step_id, holder=holder, their=their),
            )
        if run.assignment is not None and run.assignment.officer_id == officer["id"]:
            raise Refusal("invalid", T("already_assigned_to", step=run.step_id, who=who))

    def _do_assign(self, cmd: ActionInput, now: datetime) -> None:
        officer = cmd.data["assignee"]
        self._hand_to(cmd, now, str(officer["id"]), str(officer.get("name") or ""), claimed=False)

    def _do_claim(self, cmd: ActionInput, now: datetime) -> None:
        self._hand_to(cmd, now, cmd.actor.id, cmd.actor.name, claimed=True)

    def _hand_to(
        self, cmd: ActionInput, now: datetime, officer_id: str, name: str, *, claimed: bool
    ) -> None:
        run = self._assignable_run()
        assert run is not None
        previous = run.assignment
        run.assignment = Assignment(
            officer_id=officer_id,
            officer_name=name,
            role=run.role,
            agency=run.agency,
            by_id=cmd.actor.id,
            by_name=cmd.actor.name,
            by_role=cmd.actor.role,
            at=now,
            claimed=claimed,
        )
        data: dict[str, Any] = {"assignee_id": officer_id, "assignee_name": name}
        if previous is not None:
            data["previous_assignee_id"] = previous.officer_id
            data["previous_assignee_name"] = previous.officer_name
        self._emit_action(Action.CLAIM if claimed else Action.ASSIGN, cmd, now, data=data)
