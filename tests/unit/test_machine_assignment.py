"""Assignment (phân công) in the dossier's rules: a leader gives the step to a named officer
of its role and agency, an officer claims unassigned work, a reassignment is recorded, the
step's actions are then the assignee's alone, and a late step is escalated to the leader
who assigned it as well as to the leader role."""

from __future__ import annotations

from typing import Any

from domain.catalog import Role
from domain.dossier import Actor
from tests.factories import AGENCY, CENTRE, OTHER_AGENCY, officer
from tests.unit.test_machine import LEADER, SPECIALIST, Dossier, at

SECOND = officer("specialist", AGENCY, "specialist-2@agency")
FOREIGN_LEADER = officer("leader", OTHER_AGENCY, "leader@other")


def directory(who: Actor, *, roles: list[str] | None = None, agency: str | None = None) -> Any:
    """`data.assignee` as the API builds it from the users it has seen."""
    return {
        "assignee": {
            "id": who.id,
            "name": who.name,
            "roles": roles if roles is not None else [who.role.value],
            "agency": agency if agency is not None else who.agency,
        }
    }


def at_appraisal() -> Dossier:
    return Dossier().received_and_handed_off(at(0, 10), at(0, 10, 10))


def test_a_leader_assigns_the_step_to_a_named_specialist_who_alone_may_act() -> None:
    d = at_appraisal()
    [event] = d.act("assign", LEADER, at(1, 9), data=directory(SECOND))
    assert (event.kind, event.actor_id, event.step_id) == ("assign", LEADER.id, "appraisal")
    assert event.data == {"assignee_id": SECOND.id, "assignee_name": SECOND.name}

    view = d.m.view(at(1, 9, 5))
    assert view.assignment is not None
    assert (view.assignment.officer_id, view.assignment.by_id) == (SECOND.id, LEADER.id)
    assert view.holder is not None and view.holder.officer_id == SECOND.id
    assert view.holder.officer_name == SECOND.name
    assert view.current_step is not None and view.current_step.assignment == view.assignment
    # Nobody claims an assigned step; the leader may still reassign it.
    assert {a.action.value for a in view.allowed_actions} >= {"assign", "appraise"}
    assert "claim" not in {a.action.value for a in view.allowed_actions}

    refusal = d.refused("appraise", SPECIALIST, at(1, 10))
    assert refusal.code == "forbidden" and SECOND.id in refusal.message
    refusal = d.refused("claim", SPECIALIST, at(1, 10))
    assert refusal.code == "wrong_step" and SECOND.id in refusal.message

    d.act("appraise", SECOND, at(1, 11))
    assert d.m.step().id == "approval"
    # The next step is nobody's by name until it is assigned or claimed.
    assert d.m.view(at(1, 12)).assignment is None
    assert d.m.view(at(1, 12)).steps[2].assignment is not None  # the appraisal's, kept


def test_reassignment_is_recorded_and_moves_who_may_act() -> None:
    d = at_appraisal()
    d.act("assign", LEADER, at(1, 9), data=directory(SECOND))
    [event] = d.act("assign", LEADER, at(1, 10), data=directory(SPECIALIST))
    assert event.data == {
        "assignee_id": SPECIALIST.id,
        "assignee_name": SPECIALIST.name,
        "previous_assignee_id": SECOND.id,
        "previous_assignee_name": SECOND.name,
    }
    assert d.refused("appraise", SECOND, at(1, 11)).code == "forbidden"
    d.act("appraise", SPECIALIST, at(1, 11))


def test_an_officer_claims_unassigned_work_for_themself_only() -> None:
    d = at_appraisal()
    assert d.refused("claim", LEADER, at(1, 9)).code == "forbidden"  # not the step's role
    wrong = d.refused("claim", SPECIALIST, at(1, 9), data=directory(SECOND))
    assert wrong.code == "invalid"
    [event] = d.act("claim", SECOND, at(1, 9))
    assert (event.kind, event.data["assignee_id"]) == ("claim", SECOND.id)
    view = d.m.view(at(1, 10))
    assert view.assignment is not None and view.assignment.claimed
    assert d.refused("claim", SPECIALIST, at(1, 10)).code == "wrong_step"
    assert d.refused("appraise", SPECIALIST, at(1, 10)).code == "forbidden"
    # A leader takes it back by assigning it.
    d.act("assign", LEADER, at(1, 11), data=directory(SPECIALIST))
    d.act("appraise", SPECIALIST, at(1, 12))


def test_only_a_leader_of_the_steps_agency_assigns_and_only_to_its_role_and_agency() -> None:
    d = at_appraisal()
    assert d.refused("assign", FOREIGN_LEADER, at(1, 9), data=directory(SECOND)).code == (
        "forbidden"
    )
    assert d.refused("assign", SPECIALIST, at(1, 9), data=directory(SECOND)).code == "forbidden"
    for data in (
        {},
        {"assignee": "specialist-2@agency"},
        {"assignee": {"id": " "}},
        directory(SECOND, agency=CENTRE),
        directory(SECOND, roles=["leader"]),
        {"assignee": {"id": "never-seen"}},
    ):
        assert d.refused("assign", LEADER, at(1, 9), data=data).code == "invalid", data
    d.act("assign", LEADER, at(1, 9), data=directory(SECOND))
    refusal = d.refused("assign", LEADER, at(1, 9, 30), data=directory(SECOND))
    assert refusal.code == "invalid"  # already theirs


def test_a_late_assigned_step_is_escalated_to_the_leader_who_assigned_it_too() -> None:
    d = at_appraisal()
    d.act("assign", LEADER, at(1, 9), data=directory(SECOND))
    fired = d.tick(at(15, 10, 10))  # the appraisal's 8 working days are over
    assert d.kinds(fired) == ["escalated"]
    assert fired[0].data == {
        "escalation": "step_budget",
        "to_role": "leader",
        "to_agency": AGENCY,
        "assignee_id": SECOND.id,
        "to_officer": LEADER.id,
        "to_officer_name": LEADER.name,
    }
    [escalation] = d.escalations("step_budget")
    assert (escalation.to_role, escalation.to_officer) == (Role.LEADER, LEADER.id)


def test_a_claimed_step_is_escalated_to_the_leader_role_only() -> None:
    d = at_appraisal()
    d.act("claim", SECOND, at(1, 9))
    fired = d.tick(at(15, 10, 10))
    assert "to_officer" not in fired[0].data and fired[0].data["assignee_id"] == SECOND.id
    assert d.escalations("step_budget")[0].to_officer is None


def test_steps_nobody_takes_by_hand_are_not_assigned() -> None:
    d = Dossier()
    d.act("accept", Actor(id="io", name="TN", role=Role.INTAKE_OFFICER, agency=CENTRE), at(0, 10))
    # At the automatic handoff nobody assigns or claims anything.
    assert not {"assign", "claim"} & {a for a, _, _ in d.allowed(at(0, 10, 1))}


def test_the_assigner_and_the_assignee_are_told_by_name() -> None:
    from activities.notifications import notifications_for

    d = at_appraisal()
    [assigned] = d.act("assign", LEADER, at(1, 9), data=directory(SECOND))
    [late] = d.tick(at(15, 10, 10))
    view = d.m.view(at(15, 10, 11))
    told = notifications_for(assigned, view, d.m.inp.applicant)
    assert [m.recipient for m in told] == [f"officer:{SECOND.id}"]
    assert "phân công" in told[0].subject
    # The step by its name in the procedure, as the officer knows it, not its id.
    step = next(s for s in view.steps if s.step_id == assigned.step_id)
    assert f"Bước “{step.name}”" in told[0].body and f"'{step.step_id}'" not in told[0].body
    told = notifications_for(late, view, d.m.inp.applicant)
    assert {m.recipient for m in told} == {f"leader@{AGENCY}", f"officer:{LEADER.id}"}
