"""The audit timeline of a dossier that went late, read back from its real history.

On the time-skipping server with the real workers: accepted on Monday A at 10:00, a
supplement asked during appraisal (the clock pauses), supplemented, then the appraisal
runs past its budget (escalation), past the apology warning and past the appointment
(overdue), and is finally appraised, approved, signed and returned. The history,
fetched from the server and decoded, must tell that story with the hand-computed times.

The calendar is synthetic with no day off but weekends: Saturdays and Sundays are
A+5/A+6, A+12/A+13, A+19/A+20, A+26/A+27. Office hours 07:30-11:30 and 13:00-17:00
(480 minutes a day). Actions are taken at :30 or :45 seconds past the minute so that
whole-minute arithmetic stays exact however many milliseconds the server adds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Role, StepKind
from domain.dossier import Status
from services.audit.history import decode, events_of
from services.audit.timeline import (
    control_slip,
    delay_attribution,
    state_at,
    state_from_events,
    timeline,
)
from tests.factories import AGENCY, APPLICANT, CENTRE, doc, local
from tests.harness import act, caught_up, running_workers, state
from tests.payload_keys import plain
from tests.workflow.test_dossier_scenarios import (
    INTAKE,
    LEADER,
    RETURNER,
    SIGNER,
    SPECIALIST,
    go_to,
    open_dossier,
    received_and_handed_off,
)

SLACK = timedelta(seconds=25)  # what the server may add to an instant we moved time to


def near(actual: datetime | None, expected: datetime) -> bool:
    """`actual` is the instant we moved the server's clock to, or just after it."""
    return actual is not None and expected <= actual < expected + SLACK


async def test_history_tells_when_and_by_whom_a_dossier_went_late(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    async with running_workers(ts_env.client, engine, [AGENCY]) as settings:
        handle, a = await open_dossier(ts_env, engine, settings, days_off=[])

        def day(n: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
            return local(a + timedelta(days=n), hh, mm) + timedelta(seconds=ss)

        # Received Monday A 10:00: the clock counts from A+1 07:30; 15 working days
        # (A+1..A+4, A+7..A+11, A+14..A+18, A+21) -> appointment A+21 17:00.
        view = await received_and_handed_off(handle)
        assert view.appointment_at == day(21, 17)
        # The appraisal (8 days = 3840 minutes) from A 10:00: 330 that day, 7 days
        # (A+1..A+4, A+7..A+9), 150 minutes of A+10 -> due A+10 10:00.
        assert view.current_step is not None and near(view.current_step.due_at, day(10, 10))

        # Wednesday A+2 10:00:30: the specialist asks for a missing drawing. Used so far:
        # clock 480 + 150 = 630 minutes; appraisal 330 + 480 + 150 = 960 minutes.
        await go_to(ts_env, day(2, 10, 0, 30))
        view = await act(
            handle, "request_supplement", SPECIALIST, data={"missing": ["Bản vẽ mặt bằng"]}
        )
        assert view.clock_paused and view.clock_consumed_minutes == 630

        # Friday A+4 14:00:45: supplemented. The clocks resume from 14:00 (whole minutes).
        # Dossier: 7200 - 630 = 6570 left: 180 on A+4, 10 days (A+7..A+11, A+14..A+18),
        # 3 days (A+21..A+23), 150 minutes of A+24 -> appointment A+24 17:00.
        # Appraisal: 3840 - 960 = 2880 left: 180 on A+4, 5 days (A+7..A+11), then 300
        # minutes of A+14 (240 in the morning, 60 after lunch) -> due A+14 14:00:00.
        await go_to(ts_env, day(4, 14, 0, 45))
        view = await act(
            handle, "supplement", APPLICANT, data={"documents": [doc("mat-bang.pdf").model_dump()]}
        )
        assert view.appointment_at == day(24, 17)
        assert view.current_step is not None and view.current_step.due_at == day(14, 14)

        # The appraisal runs past its budget (escalation at A+14 14:00), past the apology
        # warning (opening of A+23, the last day for Form 04) and past the appointment
        # (overdue at A+24 17:00); it is appraised on Friday A+25 at 09:00:30.
        await go_to(ts_env, day(14, 14, 5))
        assert [e.kind for e in (await state(handle)).escalations] == ["step_budget"]
        await go_to(ts_env, day(24, 17, 5))
        view = await state(handle)
        assert [e.kind for e in view.escalations] == ["step_budget", "apology_due", "overdue"]
        await go_to(ts_env, day(25, 9, 0, 30))
        await act(handle, "appraise", SPECIALIST, data={"opinion": "Đủ điều kiện cấp phép"})
        await act(handle, "approve", LEADER)
        await act(handle, "sign", SIGNER)
        await act(handle, "return", RETURNER, data={"channel": "counter"})
        result = await handle.result()
        assert result.status is Status.RETURNED
        await caught_up(engine, handle)

        rec = decode([plain(await handle.fetch_history())])

    assert rec.completed and rec.runs == [handle.result_run_id]
    events = events_of(rec)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    kinds = [e.kind for e in events]
    for kind in ("request_supplement", "supplement", "escalated", "overdue", "appraise"):
        assert kind in kinds
    assert [u.name for u in rec.updates] == [
        "accept",
        "request_supplement",
        "supplement",
        "appraise",
        "approve",
        "sign",
        "return",
    ]
    at = {e.kind: e.at for e in events}  # the last instant of each kind
    t_supplement_asked, t_supplemented = at["request_supplement"], at["supplement"]
    assert near(t_supplement_asked, day(2, 10, 0, 30)) and near(t_supplemented, day(4, 14, 0, 45))

    # 1. Before the pause (Tuesday A+1 noon): appraisal at the agency, on its first plan.
    s = state_at(rec, day(1, 12))
    assert (s.status, s.step_id, s.step_kind) == (
        Status.IN_PROGRESS,
        "appraisal",
        StepKind.APPRAISAL,
    )
    assert (s.holder_role, s.holder_agency) == (Role.SPECIALIST, AGENCY)
    assert s.appointment_at == day(21, 17) and near(s.step_due_at, day(10, 10))
    assert not s.clock_paused and s.paused_since is None and s.time_paused_minutes == 0
    assert (s.supplement_requests, s.escalations, s.overdue) == (0, 0, False)

    # 2. During the pause (Thursday A+3 noon): waiting for the applicant, no appointment.
    s = state_at(rec, day(3, 12))
    assert (s.status, s.status_label) == (Status.SUPPLEMENT_REQUESTED, "Yêu cầu bổ sung giấy tờ")
    assert s.clock_paused and s.paused_since == t_supplement_asked
    assert s.appointment_at is None and s.step_due_at is None
    assert (s.holder_role, s.holder_agency) == (Role.APPLICANT, None)
    assert s.supplement_requests == 1

    # 3. After the supplement (Tuesday A+8 noon): resumed, appointment moved by the pause
    # (A+21 -> A+24), which lasted 2 days 4 hours = 3120 minutes.
    s = state_at(rec, day(8, 12))
    assert s.status is Status.IN_PROGRESS and not s.clock_paused and s.paused_since is None
    assert s.appointment_at == day(24, 17) and s.step_due_at == day(14, 14)
    assert s.time_paused_minutes == 3120
    assert (s.holder_role, s.escalations, s.overdue) == (Role.SPECIALIST, 0, False)

    # 4. Around the escalation at A+14 14:00.
    assert state_at(rec, day(14, 13, 59)).escalations == 0
    s = state_at(rec, day(14, 15))
    assert (s.escalations, s.overdue, s.step_id) == (1, False, "appraisal")
    assert (s.holder_role, s.holder_agency) == (Role.SPECIALIST, AGENCY)

    # 5. The apology warning at A+23 07:30; overdue at A+24 17:00.
    assert state_at(rec, day(23, 7, 29)).escalations == 1
    assert state_at(rec, day(23, 8)).escalations == 2
    s = state_at(rec, day(24, 16, 59))
    assert (s.escalations, s.overdue) == (2, False)
    s = state_at(rec, day(24, 17, 30))
    assert (s.escalations, s.overdue, s.status, s.step_id) == (
        3,
        True,
        Status.IN_PROGRESS,
        "appraisal",
    )
    assert s.appointment_at == day(24, 17)

    # 6. The end: returned, nobody holds it, still counted as having gone overdue.
    s = state_at(rec, day(25, 12))
    assert (s.status, s.step_id, s.holder_role, s.overdue) == (Status.RETURNED, None, None, True)
    assert s.last_event_seq == len(events)

    # The recorded views and the events agree, batch by batch, pauses included.
    story = timeline(rec)
    assert len(story) == len(rec.batches)
    for st in story:
        rebuilt = state_from_events(rec, st.at)
        assert rebuilt.model_dump(exclude={"source"}) == st.model_dump(exclude={"source"})
    assert story[-1].status is Status.RETURNED

    # Control slip: planned against actual for every step.
    slip = control_slip(rec)
    assert [r.step_id for r in slip] == [
        "intake",
        "handoff",
        "appraisal",
        "approval",
        "signature",
        "return",
    ]
    assert [r.verdict for r in slip] == ["on_time", "on_time", "late", "early", "early", "on_time"]
    assert [r.officer_id for r in slip] == [
        INTAKE.id,
        None,  # acknowledged by the agency's worker
        SPECIALIST.id,
        LEADER.id,
        SIGNER.id,
        RETURNER.id,
    ]
    appraisal = slip[2]
    assert (appraisal.kind, appraisal.agency, appraisal.role) == (
        StepKind.APPRAISAL,
        AGENCY,
        Role.SPECIALIST,
    )
    assert appraisal.officer_name == "Cán bộ specialist"
    assert near(appraisal.started_at, day(0, 10))
    assert appraisal.planned_due_at == day(14, 14)
    assert near(appraisal.ended_at, day(25, 9, 0, 30)) and appraisal.escalated
    # From A+14 14:00 to A+25 09:00:30: 180 on A+14, 4 days (A+15..A+18), 4 days
    # (A+21..A+24), 90 minutes of A+25 -> 180 + 1920 + 1920 + 90 = 4110 working minutes.
    assert appraisal.late_by_working_minutes == 4110
    assert all(r.late_by_working_minutes == 0 for r in slip if r is not appraisal)
    # Intake: half a day from A 10:00 -> due A 15:30, ended that morning.
    assert (
        slip[0].planned_due_at == day(0, 15, 30) and slip[0].officer_name == "Cán bộ intake_officer"
    )
    assert slip[0].agency == CENTRE and slip[-1].agency == CENTRE

    # Delay attribution: the appraisal at the agency, by its specialist.
    delay = delay_attribution(rec)
    assert delay is not None
    assert (delay.dossier_code, delay.procedure_code) == (handle.id, "1.009994")
    assert delay.appointment_at == day(24, 17) and near(delay.overdue_at, day(24, 17))
    # Processed (the return step opened) just after the signature on A+25 09:00:30:
    # A+24 17:00 -> A+25 07:30 is outside office hours, then 90 minutes.
    assert near(delay.finished_at, day(25, 9, 0, 30))
    assert delay.overdue_by_working_minutes == 90
    assert [
        (c.step_id, c.agency, c.officer_id, c.late_by_working_minutes) for c in delay.culprits
    ] == [("appraisal", AGENCY, SPECIALIST.id, 4110)]
