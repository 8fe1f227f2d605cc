"""Dossier lists from the read model: filters, scoping, search text, keyset pages."""

from __future__ import annotations

import base64
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from domain.catalog import Role, StepKind
from domain.dossier import Channel, Status
from store import repository as repo
from store.schemas import DossierItem, DossierQuery, DossierSummary

ICT = timezone(timedelta(hours=7))
T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam
CENTRE = "000.00.01.H99"
DEPT = "000.00.12.H99"
COMMUNE = "000.31.00.H99"
POLICE = "000.00.40.H99"


def summary(code: str, submitted_at: datetime, **kw) -> DossierSummary:
    base = dict(
        code=code,
        procedure_code="1.001612",
        procedure_version=1,
        procedure_name="Đăng ký khai sinh",
        status=Status.IN_PROGRESS,
        channel=Channel.COUNTER,
        centre_agency=CENTRE,
        competent_agency=DEPT,
        current_step_id="appraise",
        current_step_kind=StepKind.APPRAISAL,
        current_agency=DEPT,
        current_role=Role.SPECIALIST,
        submitted_at=submitted_at,
        received_at=submitted_at,
        applicant_name="Nguyễn Văn An",
        applicant_id_number="001203004567",
        updated_at=submitted_at,
        last_event_seq=1,
    )
    base.update(kw)
    return DossierSummary(**base)


def put(engine, *summaries: DossierSummary) -> None:
    for s in summaries:
        repo.record_events(engine, [], s)


def codes(engine, **query) -> list[str]:
    page = repo.list_dossiers(engine, DossierQuery(**query), limit=repo.MAX_PAGE_SIZE)
    assert page.next_cursor is None
    return [d.code for d in page.items]


@pytest.fixture
def sample(engine):
    """Eight dossiers, newest first: D8 .. D1."""
    put(
        engine,
        summary("D1", T0, status=Status.SUBMITTED, received_at=None, current_agency=None),
        summary("D2", T0 + timedelta(hours=1), status=Status.RECEIVED),
        summary(
            "D3",
            T0 + timedelta(hours=2),
            procedure_code="1.009994",
            centre_agency=COMMUNE,
            competent_agency=COMMUNE,
            current_agency=COMMUNE,
            applicant_name="Trần Thị Bình",
            overdue=True,
        ),
        summary("D4", T0 + timedelta(hours=3), current_agency=POLICE, overdue=True),
        summary(
            "D5",
            T0 + timedelta(days=1),
            status=Status.RETURNED,
            applicant_name="Lê 100% Chắc_Chắn",
            applicant_account="citizen-5",
        ),
        summary(
            "D6",
            T0 + timedelta(days=1, hours=1),
            centre_agency=COMMUNE,
            competent_agency=POLICE,
            current_agency=POLICE,
            applicant_name="Phạm Văn Cường",
            applicant_account="citizen-6",
        ),
        summary(
            "D7",
            T0 + timedelta(days=2),
            applicant_name="Hoàng 100 Chac Chan",
            applicant_account="citizen-5",
        ),
        summary(
            "ABC-250305-0001", T0 + timedelta(days=2, hours=1), applicant_name="Đỗ Back\\slash"
        ),
    )
    return engine


# --------------------------------------------------------------------------- filters


def test_no_filter_lists_everything_newest_first(sample):
    assert codes(sample) == ["ABC-250305-0001", "D7", "D6", "D5", "D4", "D3", "D2", "D1"]
    item = repo.list_dossiers(sample, DossierQuery(), limit=1).items[0]
    assert isinstance(item, DossierItem)
    assert (
        item.status is Status.IN_PROGRESS and item.status_code == Status.IN_PROGRESS.national_code
    )
    assert item.submitted_at == T0 + timedelta(days=2, hours=1)
    assert item.submitted_at.utcoffset() == timedelta(0)


def test_filter_status(sample):
    assert codes(sample, status=Status.RETURNED) == ["D5"]
    assert codes(sample, status="submitted") == ["D1"]
    assert codes(sample, status=Status.STOPPED) == []


def test_filter_procedure(sample):
    assert codes(sample, procedure="1.009994") == ["D3"]
    assert codes(sample, procedure="9.999999") == []


def test_filter_agency_matches_centre_competent_or_current(sample):
    # D3: all three; D6: centre only
    assert codes(sample, agency=COMMUNE) == ["D6", "D3"]
    # D4: current only; D6: competent and current
    assert codes(sample, agency=POLICE) == ["D6", "D4"]
    assert codes(sample, agency="000.99.99.H99") == []


def test_filter_overdue(sample):
    assert codes(sample, overdue=True) == ["D4", "D3"]
    assert codes(sample, overdue=False) == ["ABC-250305-0001", "D7", "D6", "D5", "D2", "D1"]


def test_filter_received_dates_are_whole_days_in_vietnam(sample):
    # T0 is 08:00 on 3 March in Vietnam; D1 was never received
    assert codes(sample, received_from=date(2025, 3, 3), received_to=date(2025, 3, 3)) == [
        "D4",
        "D3",
        "D2",
    ]
    assert codes(sample, received_from="2025-03-04") == ["ABC-250305-0001", "D7", "D6", "D5"]
    assert codes(sample, received_to="2025-03-04") == ["D6", "D5", "D4", "D3", "D2"]
    # a dossier received at 23:30 in Vietnam belongs to that day, though it is 16:30 UTC
    put(sample, summary("LATE", datetime(2025, 3, 2, 23, 30, tzinfo=ICT)))
    assert codes(sample, received_to=date(2025, 3, 2)) == ["LATE"]
    assert codes(sample, received_from=date(2025, 3, 3), received_to=date(2025, 3, 3)) == [
        "D4",
        "D3",
        "D2",
    ]


def test_filter_received_datetimes_are_instants(sample):
    frm = T0 + timedelta(hours=2)  # inclusive
    to = (T0 + timedelta(days=1)).astimezone(ICT)  # inclusive, any offset
    assert codes(sample, received_from=frm, received_to=to) == ["D5", "D4", "D3"]
    # naive datetimes are UTC
    assert codes(sample, received_from=datetime(2025, 3, 5, 1, 0)) == ["ABC-250305-0001", "D7"]


def test_q_matches_code_or_name_case_insensitively(sample):
    assert codes(sample, q="abc-2503") == ["ABC-250305-0001"]
    assert codes(sample, q="d3") == ["D3"]
    # Vietnamese letters fold on both SQLite and PostgreSQL
    assert codes(sample, q="trần thị") == ["D3"]
    assert codes(sample, q="TRẦN THỊ BÌNH") == ["D3"]
    assert codes(sample, q="  cường ") == ["D6"]
    # decomposed input (NFD, as some keyboards send it) matches precomposed names
    assert codes(sample, q=unicodedata.normalize("NFD", "Cường")) == ["D6"]
    assert codes(sample, q="") == codes(sample)


def test_q_matches_the_code_only_for_a_caller_who_sees_names_masked(sample):
    """An administrator sees names masked (docs/personal-data.md): a search by name must
    not confirm one."""
    assert codes(sample, q="trần thị", q_matches_names=False) == []
    assert codes(sample, q="Phạm Văn Cường", q_matches_names=False) == []
    assert codes(sample, q="abc-2503", q_matches_names=False) == ["ABC-250305-0001"]
    assert codes(sample, q="d3", q_matches_names=False) == ["D3"]


def test_q_percent_underscore_and_backslash_match_themselves(sample):
    assert codes(sample, q="100%") == ["D5"]  # not D7's "100 Chac"
    assert codes(sample, q="%") == ["D5"]
    assert codes(sample, q="c_c") == ["D5"]  # a wildcard "_" would also match D7's "Chac Chan"
    assert codes(sample, q="0_c") == []
    assert codes(sample, q="chắc_chắn") == ["D5"]
    assert codes(sample, q="_") == ["D5"]
    assert codes(sample, q="back\\slash") == ["ABC-250305-0001"]
    assert codes(sample, q="\\") == ["ABC-250305-0001"]
    assert codes(sample, q="\\%") == []


def test_filters_combine_with_and(sample):
    assert codes(sample, agency=POLICE, overdue=True) == ["D4"]
    assert codes(sample, agency=DEPT, status=Status.IN_PROGRESS, received_to="2025-03-03") == ["D4"]
    assert codes(sample, q="văn", agency=COMMUNE) == ["D6"]
    assert codes(sample, procedure="1.009994", overdue=False) == []


# --------------------------------------------------------------------------- scoping


def test_scope_agency(sample):
    assert codes(sample, scope_agency=COMMUNE) == ["D6", "D3"]
    # the user's agency filter narrows within the scope, never widens it
    assert codes(sample, scope_agency=COMMUNE, agency=POLICE) == ["D6"]
    assert codes(sample, scope_agency=COMMUNE, agency=DEPT) == []


def test_scope_account(sample):
    assert codes(sample, scope_account="citizen-5") == ["D7", "D5"]
    assert codes(sample, scope_account="citizen-5", q="100%") == ["D5"]
    assert codes(sample, scope_account="nobody") == []


def test_count_dossiers(sample):
    assert repo.count_dossiers(sample, DossierQuery()) == 8
    assert repo.count_dossiers(sample, DossierQuery(agency=POLICE)) == 2
    assert repo.count_dossiers(sample, DossierQuery(q="100%", scope_account="citizen-5")) == 1


# --------------------------------------------------------------------------- pages


def all_pages(engine, query: DossierQuery, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = repo.list_dossiers(engine, query, limit=limit, cursor=cursor)
        pages.append([d.code for d in page.items])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def test_pages_are_stable_when_submitted_at_ties(engine):
    # 8 dossiers, only three distinct submission times; ties break on code, descending
    times = [T0, T0, T0 + timedelta(minutes=1), T0, T0 + timedelta(minutes=1), T0, T0, T0]
    put(engine, *(summary(f"X{i}", at) for i, at in enumerate(times)))
    pages = all_pages(engine, DossierQuery(), limit=3)
    assert pages == [["X4", "X2", "X7"], ["X6", "X5", "X3"], ["X1", "X0"]]
    # a new dossier arriving mid-listing does not shift the later pages
    first = repo.list_dossiers(engine, DossierQuery(), limit=3)
    put(engine, summary("X8", T0 + timedelta(minutes=5)))
    second = repo.list_dossiers(engine, DossierQuery(), limit=3, cursor=first.next_cursor)
    assert [d.code for d in second.items] == ["X6", "X5", "X3"]


def test_exact_multiple_of_the_page_size_ends_without_cursor(engine):
    put(engine, *(summary(f"Y{i}", T0 + timedelta(seconds=i)) for i in range(6)))
    assert all_pages(engine, DossierQuery(), limit=3) == [["Y5", "Y4", "Y3"], ["Y2", "Y1", "Y0"]]


def test_pages_keep_their_filters(sample):
    assert all_pages(sample, DossierQuery(agency=DEPT), limit=2) == [
        ["ABC-250305-0001", "D7"],
        ["D5", "D4"],
        ["D2", "D1"],
    ]


def test_microsecond_timestamps_page_exactly(engine):
    at = T0 + timedelta(microseconds=123456)
    put(engine, summary("M1", at), summary("M2", at), summary("M3", at + timedelta(microseconds=1)))
    assert all_pages(engine, DossierQuery(), limit=1) == [["M3"], ["M2"], ["M1"]]


def test_cursor_is_opaque_url_safe(sample):
    cursor = repo.list_dossiers(sample, DossierQuery(), limit=2).next_cursor
    assert cursor and set(cursor) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    assert repo.decode_cursor(cursor) == (T0 + timedelta(days=2), "D7")


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "not base64 at all",
        b64(b"\xff\xfe"),
        b64(b"not json"),
        b64(b'{"a": 1}'),
        b64(b'["2025-03-03T01:00:00+00:00"]'),
        b64(b'["2025-03-03T01:00:00+00:00", 5]'),
        b64(b'["yesterday", "D1"]'),
        b64(b'["2025-03-03T01:00:00", "D1"]'),  # no offset
    ],
)
def test_malformed_cursor_is_a_value_error(sample, cursor):
    with pytest.raises(ValueError, match=r"^cursor: "):
        repo.list_dossiers(sample, DossierQuery(), cursor=cursor)


@pytest.mark.parametrize("limit", [0, -1, repo.MAX_PAGE_SIZE + 1])
def test_limit_out_of_range(sample, limit):
    with pytest.raises(ValueError, match=r"^limit: "):
        repo.list_dossiers(sample, DossierQuery(), limit=limit)


def test_query_model():
    q = DossierQuery(received_from="2025-03-03", received_to="2025-03-04T10:00:00+07:00", q="  ")
    assert q.received_from == date(2025, 3, 3)
    assert q.received_to == datetime(2025, 3, 4, 10, 0, tzinfo=ICT)
    assert q.q is None
    with pytest.raises(ValidationError):
        DossierQuery(status="nonsense")
    with pytest.raises(ValidationError):
        DossierQuery(page=2)


# --------------------------------------------------------------------------- worklist


def test_worklist_holds_what_the_officer_must_act_on_most_urgent_first(engine) -> None:
    h = timedelta(hours=1)
    put(
        engine,
        # The department's specialists: due soonest first, overdue before all.
        summary("W-later", T0, step_due_at=T0 + 5 * h, appointment_at=T0 + 90 * h),
        summary("W-sooner", T0, step_due_at=T0 + 2 * h, appointment_at=T0 + 99 * h),
        summary("W-overdue", T0, step_due_at=T0 + 9 * h, overdue=True),
        summary("W-no-due", T0, step_due_at=None, appointment_at=T0 + 3 * h),
        summary("W-same-due-b", T0, step_due_at=T0 + 7 * h, appointment_at=T0 + 20 * h),
        summary("W-same-due-a", T0, step_due_at=T0 + 7 * h, appointment_at=T0 + 10 * h),
        # Not theirs: another role, another agency, waiting for the applicant, closed.
        summary("W-leader", T0, current_role=Role.LEADER, step_due_at=T0 + h),
        summary("W-escalated", T0, current_role=Role.LEADER, escalated=True, step_due_at=T0),
        summary("W-commune", T0, current_agency=COMMUNE, step_due_at=T0 + h),
        summary("W-supplement", T0, status=Status.SUPPLEMENT_REQUESTED, step_due_at=T0 + h),
        summary("W-payment", T0, status=Status.FINANCIAL_OBLIGATION, step_due_at=T0 + h),
        summary("W-closed", T0, status=Status.RETURNED, closed_at=T0 + h, step_due_at=T0),
        # The centre: a handoff waiting to be forwarded, and one at its own counter.
        summary(
            "W-handoff",
            T0,
            current_step_kind=StepKind.HANDOFF,
            current_role=Role.SYSTEM,
            step_due_at=T0 + h,
        ),
        summary(
            "W-counter",
            T0,
            status=Status.SUBMITTED,
            current_step_kind=StepKind.INTAKE,
            current_agency=CENTRE,
            current_role=Role.INTAKE_OFFICER,
            step_due_at=T0 + 2 * h,
        ),
    )
    items, total = repo.worklist(engine, DEPT, ["specialist"])
    assert [i.code for i in items] == [
        "W-overdue",
        "W-sooner",
        "W-later",
        "W-same-due-a",
        "W-same-due-b",
        "W-no-due",
    ]
    assert total == 6
    items, total = repo.worklist(engine, DEPT, ["specialist"], limit=2)
    assert ([i.code for i in items], total) == (["W-overdue", "W-sooner"], 6)
    # A leader has the steps that are theirs and every escalated step of the agency.
    items, _ = repo.worklist(engine, DEPT, ["leader"])
    assert [i.code for i in items] == ["W-escalated", "W-leader"]
    # The centre's intake officer: its counter, and handoffs it may have to forward.
    items, _ = repo.worklist(engine, CENTRE, ["intake_officer"])
    assert [i.code for i in items] == ["W-handoff", "W-counter"]
    assert repo.worklist(engine, POLICE, ["specialist", "leader"]) == ([], 0)
    with pytest.raises(ValueError, match="limit"):
        repo.worklist(engine, DEPT, ["specialist"], limit=0)


def test_worklist_filters_sorts_pages_and_searches(engine) -> None:
    """The officer's queue: by procedure, status, due today, overdue, assigned to an
    officer or to nobody, the whole unit; sorted by due time, appointment, receipt or
    code either way; paged with the total; searched by code, name or exact ID number (the
    last two only for a caller who may read them)."""
    from store.schemas import WorklistQuery

    h = timedelta(hours=1)
    now = datetime(2025, 3, 3, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam, Monday
    tonight = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)  # 17:00 the same day
    put(
        engine,
        summary(
            "Q-a", T0, step_due_at=tonight, appointment_at=now + 90 * h, received_at=T0 + 2 * h
        ),
        summary(
            "Q-b",
            T0,
            step_due_at=now + 30 * h,
            appointment_at=tonight,
            received_at=T0,
            procedure_code="1.009994",
            assignee_id="cv-1",
            assignee_name="Lê Văn Cường",
            assigned_by="ld-1",
        ),
        summary(
            "Q-c",
            T0,
            step_due_at=now - h,
            appointment_at=now + 50 * h,
            received_at=T0 + h,
            assignee_id="cv-2",
            applicant_name="Trần Thị Bình",
            applicant_id_number="001099012345",
        ),
        summary("Q-d", T0, step_due_at=None, appointment_at=None, received_at=None, overdue=True),
        summary(
            "Q-e",
            T0,
            status=Status.PROCESSED,
            current_role=Role.LEADER,
            step_due_at=now + 100 * h,
        ),
    )

    def q(limit: int = 100, offset: int = 0, roles=("specialist",), **kw) -> tuple[list[str], int]:
        items, total = repo.worklist(
            engine,
            DEPT,
            list(roles),
            limit=limit,
            offset=offset,
            query=WorklistQuery(now=now, **kw),
        )
        return [i.code for i in items], total

    assert q() == (["Q-d", "Q-c", "Q-a", "Q-b"], 4)
    assert q(procedure="1.009994") == (["Q-b"], 1)
    assert q(status=Status.PROCESSED) == ([], 0)
    assert q(status=Status.PROCESSED, roles=("leader",)) == (["Q-e"], 1)
    assert q(due_today=True) == (["Q-a", "Q-b"], 2)  # the step's due time, or the appointment
    assert q(overdue=True) == (["Q-d", "Q-c"], 2)  # past the appointment, or the step's time
    assert q(assignee="cv-1") == (["Q-b"], 1)
    assert q(unassigned=True) == (["Q-d", "Q-a"], 2)
    # A leader's view of the unit: every open step at the agency, whatever its role.
    assert q(unit=True, roles=("leader",))[1] == 5
    assert q(unit=True, roles=("leader",), unassigned=True)[0] == ["Q-d", "Q-a", "Q-e"]

    assert q(sort="due")[0] == ["Q-c", "Q-a", "Q-b", "Q-d"]  # no due time: last either way
    assert q(sort="-due")[0] == ["Q-b", "Q-a", "Q-c", "Q-d"]
    assert q(sort="appointment")[0] == ["Q-b", "Q-c", "Q-a", "Q-d"]
    assert q(sort="received")[0] == ["Q-b", "Q-c", "Q-a", "Q-d"]
    assert q(sort="-received")[0] == ["Q-a", "Q-c", "Q-b", "Q-d"]
    assert q(sort="code")[0] == ["Q-a", "Q-b", "Q-c", "Q-d"]
    assert q(sort="-code")[0] == ["Q-d", "Q-c", "Q-b", "Q-a"]

    # Pages: the total is all of them, every page a slice of the same order.
    pages = [q(limit=3, offset=o, sort="code") for o in (0, 3, 6)]
    assert pages == [(["Q-a", "Q-b", "Q-c"], 4), (["Q-d"], 4), ([], 4)]
    with pytest.raises(ValueError, match="offset"):
        q(offset=-1)

    assert q(q="q-C") == (["Q-c"], 1)
    assert q(q="bình") == (["Q-c"], 1)
    assert q(q="001099012345") == (["Q-c"], 1)
    assert q(q="0010 9901 2345") == (["Q-c"], 1)
    assert q(q="00109901234") == ([], 0)  # not a whole ID number, not a substring of one
    assert q(q="bình", q_matches_personal=False) == ([], 0)
    assert q(q="001099012345", q_matches_personal=False) == ([], 0)


def test_the_dossier_list_finds_an_exact_id_number_for_those_who_may_read_it(engine) -> None:
    put(engine, summary("ID-1", T0, applicant_id_number="022090001234"), summary("ID-2", T0))
    assert codes(engine, q="022090001234") == ["ID-1"]
    assert codes(engine, q="022090001234", q_matches_names=False) == []
    assert codes(engine, q="0220900") == []
