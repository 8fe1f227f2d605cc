"""The audit timeline read back from the golden histories alone (tests/histories/*.json):
decoding, the dossier's state at chosen instants, the control slip, and the errors.

The golden dossiers were walked by a script in well under a second of real time, so
the instants below are milliseconds apart; the dates they imply (appointments, step
due times) are worked out by hand from the shipped calendar, where Tuesday 2026-11-24
is a day off (Ngày Văn hóa Việt Nam)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from domain.calendar import DayNote
from domain.catalog import Role, StepKind
from domain.dossier import Action, DossierInput, DossierState, MoveAgencyInput, Status
from services.audit.history import DossierRecord, decode, events_of
from services.audit.timeline import (
    TimelineState,
    control_slip,
    delay_attribution,
    state_at,
    state_from_events,
    timeline,
)
from tests.factories import TZ
from tests.payload_keys import DATA_CONVERTER

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
FILES = sorted(HISTORIES.glob("*.json"))
CENTRE = "000.00.01.H99"  # the shipped catalog's centre and police agency
POLICE = "000.00.20.H99"


def raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HISTORIES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def history(name: str) -> WorkflowHistory:
    return WorkflowHistory.from_json(name, raw(name))


def record(name: str) -> DossierRecord:
    return decode([history(name)])


def utc(text: str) -> datetime:
    """An instant on the day the golden histories were recorded (UTC)."""
    return datetime.fromisoformat(f"2026-11-22T{text}+00:00")


def vn(day: int, hh: int, mm: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=TZ)


def without_source(s: TimelineState) -> dict[str, Any]:
    return s.model_dump(exclude={"source"})


# -- decoding -------------------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_golden_history_decodes(path: Path) -> None:
    h = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    rec = decode([h])
    events = events_of(rec)

    assert rec.runs == [h.run_id]
    assert rec.completed == (path.stem not in ("in_flight", "merged_during_handoff"))
    assert rec.last_event_at == h.events[-1].event_time.ToDatetime(tzinfo=UTC)
    # Event numbers run 1..n without a gap, each once, all of this dossier.
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert len({e.id for e in events}) == len(events)
    assert {e.dossier_code for e in events} == {rec.input.code}
    assert events[0].kind == "submitted" and events[1].kind == "step_started"
    # Each batch's view is the dossier right after the batch's last event.
    for batch in rec.batches:
        assert batch.events and batch.view.event_seq == batch.events[-1].seq
        assert batch.view.code == rec.input.code
        assert batch.view.status is batch.events[-1].status_after
        assert all(e.at <= batch.scheduled_at for e in batch.events)
    assert [b.scheduled_at for b in rec.batches] == sorted(b.scheduled_at for b in rec.batches)
    last = rec.batches[-1].view
    assert last.event_seq == len(events)
    assert (last.closed_at is not None) == rec.completed
    if rec.completed:
        assert last.status.terminal and last.current_step is None
    # Every accepted update is there, with its action input.
    accepted = [
        e
        for e in h.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    assert [u.update_id for u in rec.updates] == [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
        for e in accepted
    ]
    assert {u.name for u in rec.updates} <= {a.value for a in Action} | {"move_agency"}
    for u in rec.updates:  # a merger's move is decoded as one, with its agencies
        assert isinstance(u.input, MoveAgencyInput) == (u.name == "move_agency")
    assert [u.at for u in rec.updates] == sorted(u.at for u in rec.updates)
    assert rec.calendar.covers(last.submitted_at.date())


def test_decoded_updates_carry_the_officers_actions() -> None:
    rec = record("appraisal_supplement_extension")
    assert [u.name for u in rec.updates] == [
        "accept",
        "request_supplement",
        "supplement",
        "request_extension",
        "appraise",
        "approve",
        "sign",
        "return",
    ]
    extension = rec.updates[3].input
    assert extension.actor.id == "police-leader-1" and extension.actor.role is Role.LEADER
    assert extension.comment == "Phải xác minh tại địa phương khác"
    assert extension.data == {"extra_days": 5}
    assert rec.updates[1].input.data == {"missing": ["Giấy tờ chứng minh nơi cư trú"]}


# -- views and events tell the same story ---------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_the_events_rebuild_every_recorded_view(path: Path) -> None:
    """The state rebuilt from the events alone (the machine's clock rules over the frozen
    calendar) equals the recorded view after every batch, and `timeline` is `state_at`
    at each batch's last instant."""
    rec = decode([WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))])
    story = timeline(rec)
    assert len(story) == len(rec.batches)
    for batch, state in zip(rec.batches, story, strict=True):
        assert state.at == max(e.at for e in batch.events)
        assert state.last_event_seq == batch.view.event_seq
        assert state_at(rec, state.at) == state
        assert state.source == "view"
        rebuilt = state_from_events(rec, state.at)
        assert rebuilt.source == "events"
        assert without_source(rebuilt) == without_source(state)


def test_the_timeline_names_the_officer_a_step_is_assigned_to() -> None:
    """The police leader assigns the appraisal, reassigns it, and claims the approval:
    the timeline's holder is the officer by name from each of those events on."""
    rec = record("assigned_and_claimed")
    events = events_of(rec)
    named = {}
    for e in events:
        if e.kind in ("assign", "claim", "appraise", "approve"):
            state = state_from_events(rec, e.at)
            named[(e.kind, e.data.get("assignee_id"))] = state.holder_officer_id
    assert named == {
        ("assign", "police-specialist-2"): "police-specialist-2",
        ("assign", "police-specialist-1"): "police-specialist-1",
        ("appraise", None): None,  # the approval starts unassigned
        ("claim", "police-leader-1"): "police-leader-1",
        ("approve", None): None,  # signing: nobody acts meanwhile
    }
    [assigned] = [e for e in events if e.data.get("previous_assignee_id")]
    assert assigned.data["previous_assignee_name"] == "Trần Thu Hà"


# -- state at an instant --------------------------------------------------------------


def test_state_at_instants_of_a_supplement_during_appraisal_and_an_extension() -> None:
    """Submitted on Monday 2026-11-23 at 01:22 local time (18:22 UTC the day before).
    10 working days from Wednesday 25 (Monday is the day of receipt, Tuesday 24 a day
    off): 25, 26, 27, 30, 1, 2, 3, 4, 7, 8 -> appointment Tuesday 2026-12-08 17:00.
    The appraisal (6.5 working days = 3120 office minutes) counted from Monday 07:30:
    Monday, Wednesday-Friday, Monday 30, Tuesday 1 (6 days) and 240 minutes of
    Wednesday 2 -> due 2026-12-02 11:30."""
    rec = record("appraisal_supplement_extension")
    appointment = vn(8, 17, month=12)
    appraisal_due = vn(2, 11, 30, month=12)

    # The instant of submission: the intake step is open at the centre.
    s = state_at(rec, rec.input.submitted_at)
    assert rec.input.submitted_at == utc("18:22:43.188095")
    assert (s.status, s.step_id, s.step_kind) == (Status.SUBMITTED, "tiep_nhan", StepKind.INTAKE)
    assert (s.holder_role, s.holder_agency) == (Role.INTAKE_OFFICER, CENTRE)
    assert s.step_due_at == vn(23, 11, 30)  # 0.5 day from Monday's opening
    assert s.appointment_at is None and s.last_event_seq == 2

    # Before the supplement request (appraisal opened at .365863, request at .453991).
    s = state_at(rec, utc("18:22:43.400"))
    assert (s.status, s.status_label) == (Status.IN_PROGRESS, "Đang xử lý")
    assert (s.step_id, s.step_kind) == ("tra_cuu_xac_minh", StepKind.APPRAISAL)
    assert s.step_name == "Tra cứu, xác minh thông tin lý lịch tư pháp"
    assert (s.holder_role, s.holder_agency) == (Role.SPECIALIST, POLICE)
    assert s.step_due_at == appraisal_due and s.appointment_at == appointment
    assert not s.clock_paused and s.paused_since is None and s.time_paused_minutes == 0
    assert (s.supplement_requests, s.escalations, s.overdue) == (0, 0, False)
    assert s.last_event_seq == 6

    # While the applicant is asked for the missing document: the clock is paused.
    s = state_at(rec, utc("18:22:43.460"))
    assert (s.status, s.status_label) == (Status.SUPPLEMENT_REQUESTED, "Yêu cầu bổ sung giấy tờ")
    assert s.clock_paused and s.paused_since == utc("18:22:43.453991")
    assert s.appointment_at is None and s.step_due_at is None
    assert (s.holder_role, s.holder_agency) == (Role.APPLICANT, None)
    assert s.step_id == "tra_cuu_xac_minh"
    assert (s.supplement_requests, s.last_event_seq) == (1, 7)

    # After the supplement: running again. Paused at 01:22 on the day of receipt, before
    # the clock had begun to count (Wednesday 07:30), so the appointment stands.
    s = state_at(rec, utc("18:22:43.500"))
    assert s.status is Status.IN_PROGRESS and not s.clock_paused and s.paused_since is None
    assert s.appointment_at == appointment and s.step_due_at == appraisal_due
    assert (s.holder_role, s.holder_agency) == (Role.SPECIALIST, POLICE)
    assert (s.time_paused_minutes, s.supplement_requests, s.last_event_seq) == (0, 1, 8)

    # After the leader's extension (Form 04): 5 working days later, 9, 10, 11, 14, 15.
    s = state_at(rec, utc("18:22:43.550"))
    assert s.appointment_at == vn(15, 17, month=12) and s.last_event_seq == 9

    # Returned: no step, nobody holds it; the appointment as it finally stood.
    s = state_at(rec, utc("18:22:44"))
    assert (s.status, s.step_id, s.holder_role) == (Status.RETURNED, None, None)
    assert s.appointment_at == vn(15, 17, month=12) and s.last_event_seq == 16
    assert (s.escalations, s.overdue) == (0, False)


def test_state_inside_a_batch_is_rebuilt_from_the_events() -> None:
    """signed_result recorded the handoff, the appraisal, the approval and the start of
    the signature in one batch (seq 5..11): between them there is no recorded view."""
    rec = record("signed_result")
    assert [e.seq for e in rec.batches[2].events] == [5, 6, 7, 8, 9, 10, 11]

    s = state_at(rec, utc("21:11:31.950"))  # approval opened at .931009, approved at .995655
    assert s.source == "events" and s.last_event_seq == 8
    assert (s.status, s.step_id, s.step_kind) == (
        Status.IN_PROGRESS,
        "phe_duyet",
        StepKind.APPROVAL,
    )
    assert (s.holder_role, s.holder_agency) == (Role.LEADER, POLICE)
    # 1 working day from Monday's opening (started at 04:11 local time).
    assert s.step_due_at == vn(23, 17) and s.appointment_at == vn(8, 17, month=12)

    s = state_at(rec, utc("21:11:32.000"))  # the signature step, before the signer acts
    assert s.source == "events" and (s.step_id, s.holder_role) == ("ky_phieu", Role.SIGNER)

    s = state_at(rec, utc("21:11:32.100"))  # signing: nobody may act meanwhile
    assert s.source == "view" and s.last_event_seq == 11
    assert (s.step_id, s.holder_role, s.holder_agency) == ("ky_phieu", None, None)

    s = state_at(rec, utc("21:11:32.440"))  # signed: the return step at the centre
    assert (s.status, s.step_id) == (Status.PROCESSED, "tra_ket_qua")
    assert (s.holder_role, s.holder_agency) == (Role.RETURN_OFFICER, CENTRE)


def test_state_between_an_intake_supplement_and_the_acceptance() -> None:
    """Asked for a document at intake (seq 3), supplemented (4), intake reopened (5):
    one batch; the clock has not started, so there is no appointment yet."""
    rec = record("intake_supplement_restart")
    s = state_at(rec, utc("18:22:42.490"))
    assert s.source == "events"
    assert (s.status, s.step_id) == (Status.SUPPLEMENT_REQUESTED, "tiep_nhan")
    assert (s.holder_role, s.holder_agency) == (Role.APPLICANT, None)
    assert not s.clock_paused and s.appointment_at is None and s.supplement_requests == 1
    s = state_at(rec, utc("18:22:42.600"))
    assert (s.status, s.step_id) == (Status.SUBMITTED, "tiep_nhan")
    assert (s.holder_role, s.holder_agency) == (Role.INTAKE_OFFICER, CENTRE)


# -- control slip -----------------------------------------------------------------------


def test_control_slip_of_the_happy_path() -> None:
    rec = record("happy_path")
    slip = control_slip(rec)
    assert [(r.step_id, r.kind, r.agency, r.role) for r in slip] == [
        ("tiep_nhan", StepKind.INTAKE, CENTRE, Role.INTAKE_OFFICER),
        ("chuyen_ho_so", StepKind.HANDOFF, POLICE, Role.SYSTEM),
        ("tra_cuu_xac_minh", StepKind.APPRAISAL, POLICE, Role.SPECIALIST),
        ("phe_duyet", StepKind.APPROVAL, POLICE, Role.LEADER),
        ("ky_phieu", StepKind.SIGNATURE, POLICE, Role.SIGNER),
        ("tra_ket_qua", StepKind.RETURN, CENTRE, Role.RETURN_OFFICER),
    ]
    # Who ended each run; the handoff was acknowledged by the police's worker (system).
    assert [(r.officer_id, r.officer_name) for r in slip] == [
        ("intake-1", "Trần Thị Bình"),
        (None, None),
        ("police-specialist-1", "Lê Văn Cường"),
        ("police-leader-1", "Phạm Văn Dũng"),
        ("police-signer-1", "Hoàng Thị Em"),
        ("return-1", "Vũ Thị Phương"),
    ]
    # Every step counted from Monday 23's opening (all were walked at 01:22 that night):
    # half a day ends at 11:30, one day at 17:00, 6.5 days on Wednesday 2 December 11:30.
    assert [r.planned_due_at for r in slip] == [
        vn(23, 11, 30),
        vn(23, 11, 30),
        vn(2, 11, 30, month=12),
        vn(23, 17),
        vn(23, 17),
        vn(23, 11, 30),
    ]
    # Finished the same day as due (on time), the appraisal days before it (early).
    assert [r.verdict for r in slip] == [
        "on_time",
        "on_time",
        "early",
        "on_time",
        "on_time",
        "on_time",
    ]
    assert all(r.late_by_working_minutes == 0 and not r.escalated for r in slip)
    events = {e.kind: e for e in events_of(rec)}
    assert slip[2].ended_at == events["appraise"].at and slip[5].ended_at == events["return"].at
    assert all(a.ended_at == b.started_at for a, b in pairwise(slip))
    assert delay_attribution(rec) is None


def test_control_slip_lists_a_step_visited_twice() -> None:
    rec = record("intake_supplement_restart")
    slip = control_slip(rec)
    assert [r.step_id for r in slip[:3]] == ["tiep_nhan", "tiep_nhan", "chuyen_ho_so"]
    first, second = slip[0], slip[1]
    # The first intake ended when the officer asked for the missing document (Form 02).
    assert first.ended_at == utc("18:22:42.480882") and first.officer_id == "intake-1"
    assert second.started_at == utc("18:22:42.503196")  # reopened by the supplement
    assert second.ended_at == utc("18:22:42.624356") and second.officer_id == "intake-1"
    assert (first.verdict, second.verdict) == ("on_time", "on_time")


def test_control_slip_of_a_withdrawal_names_no_officer_for_the_appraisal() -> None:
    slip = control_slip(record("withdrawal"))
    appraisal = slip[-1]
    assert appraisal.step_id == "tra_cuu_xac_minh"
    # Ended by the applicant's withdrawal, not by an officer.
    assert appraisal.ended_at == utc("18:22:44.262204") and appraisal.officer_id is None


def test_open_dossier_has_an_open_step_and_no_delay() -> None:
    rec = record("in_flight")
    last = control_slip(rec)[-1]
    assert (last.step_id, last.ended_at, last.verdict) == ("phe_duyet", None, None)
    assert last.late_by_working_minutes == 0  # due on Monday 23 at 17:00, long after
    assert delay_attribution(rec) is None


# -- continue-as-new: a dossier over several runs --------------------------------------


def split_in_two_runs(name: str, after_batch: int) -> tuple[WorkflowHistory, WorkflowHistory]:
    """The history cut after its n-th recording as if the workflow had continued as new
    there: the first run ends with ContinuedAsNew, the second starts with the state."""
    data = raw(name)
    events = data["events"]
    scheduled = [
        i
        for i, e in enumerate(events)
        if e.get("activityTaskScheduledEventAttributes", {}).get("activityType", {}).get("name")
        == "record_dossier_events"
    ]
    cut = scheduled[after_batch - 1] + 1
    first_run = events[0]["workflowExecutionStartedEventAttributes"]["originalExecutionRunId"]
    second_run = "second-run"
    continued = {
        "eventId": str(cut + 1),
        "eventTime": events[cut - 1]["eventTime"],
        "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW",
        "workflowExecutionContinuedAsNewEventAttributes": {
            "newExecutionRunId": second_run,
            "workflowType": {"name": "DossierWorkflow"},
        },
    }
    start = copy.deepcopy(events[0])
    start["eventTime"] = events[cut]["eventTime"]
    attrs = start["workflowExecutionStartedEventAttributes"]
    [inp] = DATA_CONVERTER.payload_converter.from_payloads(
        WorkflowHistory.from_json(name, data)
        .events[0]
        .workflow_execution_started_event_attributes.input.payloads,
        [DossierInput],
    )
    carried = inp.model_copy(update={"carried_state": DossierState(event_seq=99)})
    attrs["input"] = {
        "payloads": [
            MessageToDict(p) for p in DATA_CONVERTER.payload_converter.to_payloads([carried])
        ]
    }
    attrs["originalExecutionRunId"] = second_run
    attrs["continuedExecutionRunId"] = first_run
    one = WorkflowHistory.from_json(name, {"events": [*events[:cut], continued]})
    two = WorkflowHistory.from_json(name, {"events": [start, *events[cut:]]})
    return one, two


def test_a_dossier_over_two_runs_reads_as_one() -> None:
    whole = record("appraisal_supplement_extension")
    one, two = split_in_two_runs("appraisal_supplement_extension", after_batch=4)
    rec = decode([one, two])
    assert rec.runs == [one.run_id, "second-run"] and rec.completed
    assert rec.input == whole.input  # the dossier as submitted, from the first run
    assert len(decode([one]).batches) == 4 and not decode([one]).completed
    assert events_of(rec) == events_of(whole)
    assert [u.update_id for u in rec.updates] == [u.update_id for u in whole.updates]
    assert timeline(rec) == timeline(whole)
    assert control_slip(rec) == control_slip(whole)
    # The pause was recorded in the first run, the supplement in the second.
    assert state_at(rec, utc("18:22:43.460")).clock_paused
    assert not state_at(rec, utc("18:22:43.500")).clock_paused

    with pytest.raises(ValueError, match="pass every run from the first"):
        decode([two, one])
    with pytest.raises(ValueError, match="pass every run from the first"):
        decode([two])
    with pytest.raises(ValueError, match="does not continue run"):
        decode([one, one])
    with pytest.raises(ValueError, match=r"belongs to dossier 000\.00\.20\.H99-261123-0001, not"):
        decode([one, history("happy_path")])


def test_calendar_years_fetched_while_running_extend_the_record_calendar() -> None:
    """`extend_calendar` results in the history (the workflow keeps a year of calendar
    ahead) are merged into the record's calendar, as the workflow merged them."""
    data = raw("happy_path")
    first = WorkflowHistory.from_json("happy_path", data).events[0]
    [inp] = DATA_CONVERTER.payload_converter.from_payloads(
        first.workflow_execution_started_event_attributes.input.payloads, [DossierInput]
    )
    assert inp.calendar.valid_to == date(2030, 12, 31)
    more = inp.calendar.model_copy(
        update={
            "version": "holidays-next",
            "valid_from": date(2031, 1, 1),
            "valid_to": date(2031, 12, 31),
            "days_off": (DayNote(day=date(2031, 1, 1), name="Tết Dương lịch"),),
            "working_weekend_days": (),
        }
    )
    [payload] = DATA_CONVERTER.payload_converter.to_payloads([more])
    end = data["events"].pop()  # completed: re-added after the calendar activity
    data["events"] += [
        {
            "eventId": "900",
            "eventTime": end["eventTime"],
            "eventType": "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED",
            "activityTaskScheduledEventAttributes": {
                "activityId": "900",
                "activityType": {"name": "extend_calendar"},
            },
        },
        {
            "eventId": "901",
            "eventTime": end["eventTime"],
            "eventType": "EVENT_TYPE_ACTIVITY_TASK_COMPLETED",
            "activityTaskCompletedEventAttributes": {
                "scheduledEventId": "900",
                "result": {"payloads": [MessageToDict(payload)]},
            },
        },
        end,
    ]
    rec = decode([WorkflowHistory.from_json("happy_path", data)])
    assert rec.completed and rec.calendar.valid_to == date(2031, 12, 31)
    assert not rec.calendar.is_working_day(date(2031, 1, 1))
    assert rec.calendar.days_off[: len(inp.calendar.days_off)] == inp.calendar.days_off


# -- errors -------------------------------------------------------------------------------


def test_a_history_of_another_workflow_is_refused() -> None:
    data = raw("happy_path")
    data["events"][0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"] = (
        "PaymentWorkflow"
    )
    with pytest.raises(ValueError, match="'PaymentWorkflow' history, not a DossierWorkflow"):
        decode([WorkflowHistory.from_json("payment", data)])


def test_a_history_without_its_start_or_without_events_is_refused() -> None:
    data = raw("happy_path")
    with pytest.raises(ValueError, match="does not begin with WorkflowExecutionStarted"):
        decode([WorkflowHistory.from_json("cut", {"events": data["events"][1:]})])
    with pytest.raises(ValueError, match="has no events"):
        decode([WorkflowHistory("empty", [])])
    with pytest.raises(ValueError, match="no history given"):
        decode([])


def test_an_unreadable_recording_is_refused() -> None:
    data = raw("happy_path")
    for event in data["events"]:
        attrs = event.get("activityTaskScheduledEventAttributes")
        if attrs and attrs["activityType"]["name"] == "record_dossier_events":
            attrs["input"]["payloads"][0]["data"] = "e30="  # {}: no dossier, no events
            break
    with pytest.raises(ValueError, match="cannot be decoded as RecordEventsInput"):
        decode([WorkflowHistory.from_json("broken", data)])


def test_no_state_before_submission() -> None:
    rec = record("happy_path")
    with pytest.raises(ValueError, match="được nộp lúc"):
        state_at(rec, rec.input.submitted_at - timedelta(microseconds=1))
    with pytest.raises(ValueError, match="được nộp lúc"):
        state_from_events(rec, datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="không có múi giờ"):
        state_at(rec, datetime(2026, 11, 22, 18, 30))
