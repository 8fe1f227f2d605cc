"""The catalog administrator's pure rules: every problem of a version named with its field,
a readable diff against the version it was drafted from, the import format's round trip,
and the appointment preview across Tết 2027 (domain/catalog_admin.py,
domain/catalog_exchange.py, services/catalog.plan)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from domain.calendar_source import build_calendar
from domain.catalog import Procedure, load_catalog, procedure_document
from domain.catalog_admin import diff_versions, version_problems
from domain.catalog_exchange import (
    Publication,
    canonical,
    comparable,
    csv_to_records,
    definition_to_record,
    record_to_definition,
    records_to_csv,
)
from services.catalog import plan

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CATALOG = load_catalog(Path(__file__).resolve().parents[2] / "procedures")
CODE = "1.001612"  # Đăng ký thành lập hộ kinh doanh: 3 working days


def doc() -> dict:
    return procedure_document(CATALOG.procedure(CODE))


def test_every_problem_is_named_with_its_field() -> None:
    d = doc()
    d["version"] = 2
    d["steps"][1]["budget"] = {"value": 9, "unit": "working_days"}  # beyond 3 days
    d["fees"] = [{"name": "Lệ phí", "amount_vnd": -1}]
    d["competent_agency"] = "000.99.99.H99"
    problems = version_problems(
        d, code=CODE, version=2, agencies=CATALOG.agencies, procedures=CATALOG.procedures
    )
    assert any("fees.0.amount_vnd" in p for p in problems), problems
    # The budgets are checked with the model; the agency only once the model is valid.
    d["fees"] = []
    problems = version_problems(
        d, code=CODE, version=2, agencies=CATALOG.agencies, procedures=CATALOG.procedures
    )
    assert any("steps: tổng thời gian các bước" in p for p in problems), problems
    d["steps"][1]["budget"] = {"value": 1, "unit": "working_days"}
    problems = version_problems(
        d, code=CODE, version=2, agencies=CATALOG.agencies, procedures=CATALOG.procedures
    )
    assert problems == [f"thủ tục {CODE} v2: competent_agency: không có cơ quan 000.99.99.H99"]
    d["code"] = "1.000001"
    problems = version_problems(
        d, code=CODE, version=2, agencies=CATALOG.agencies, procedures=CATALOG.procedures
    )
    assert problems[0].startswith(f"thủ tục {CODE} v2: code:")


def test_the_diff_names_steps_by_id_and_shows_durations_in_words() -> None:
    before = doc()
    after = doc()
    after["version"] = 2
    after["steps"][1]["budget"] = {"value": 1.0, "unit": "working_days"}
    after["fees"].append({"name": "Phí cấp bản sao", "amount_vnd": 5000})
    after["legal_basis"] = after["legal_basis"][1:]
    step = before["steps"][1]
    changes = {c.path: c for c in diff_versions(before, after)}
    budget = changes[f"steps[{step['id']}].budget"]
    assert budget.label == f"Bước '{step['id']}' ({step['name']}) › thời hạn"
    assert (budget.before, budget.after) == ("1,5 ngày làm việc", "1 ngày làm việc")
    fee = changes["fees[Phí cấp bản sao]"]
    assert fee.before is None and "5000" in (fee.after or "")
    removed = changes["legal_basis"]
    assert removed.before == before["legal_basis"][0] and removed.after is None
    assert "version" not in changes
    assert diff_versions(before, before) == []


def test_a_record_round_trips_through_the_exchange_format_json_and_csv() -> None:
    for versions in CATALOG.procedures.values():
        for p in versions:
            document = procedure_document(p)
            pub = Publication(boundary_free=True)
            record = definition_to_record(document, pub)
            # The national database's names on the record itself.
            assert {"agency", "time", "components", "legal_basis"} <= set(record)
            back, publication = record_to_definition(record, p.version)
            assert publication.boundary_free
            assert comparable(canonical(back)) == comparable(document)
    records = [definition_to_record(procedure_document(p), Publication()) for p in CATALOG.latest()]
    again = csv_to_records(records_to_csv(records))
    for r, b in zip(records, again, strict=True):
        definition, _ = record_to_definition(b, 1)
        first, _ = record_to_definition(r, 1)
        assert comparable(canonical(definition)) == comparable(canonical(first))


def test_the_preview_counts_past_tet_2027() -> None:
    """Tết Nguyên Đán 2027 (the Year of the Goat begins on 06/02/2027): the days off run
    from 29 Tết, Thursday 04/02, to Mùng năm, Wednesday 10/02 (the `holidays` package's
    Vietnamese calendar). 3 working days, counted from the day after receipt."""
    cal = build_calendar(2026, 2028, None)
    p = Procedure.model_validate(doc())
    before_tet = plan(p, cal, datetime(2027, 2, 3, 9, 0, tzinfo=TZ))
    # Received Wednesday 03/02: counted from Thursday 11/02 (after the days off): 11, 12,
    # then Monday 15/02.
    assert before_tet.counted_from == datetime(2027, 2, 11, 7, 30, tzinfo=TZ)
    assert before_tet.appointment.date() == date(2027, 2, 15)
    off = [d for d, _ in before_tet.days_off]
    assert date(2027, 2, 4) in off and date(2027, 2, 10) in off
    assert all(not cal.is_working_day(d) for d in off)
    # The steps follow one another and the last ends no later than the appointment.
    for a, b in zip(before_tet.steps, before_tet.steps[1:], strict=False):
        assert a.due_at == b.starts_at
    assert before_tet.steps[-1].due_at <= before_tet.appointment
    # Received on a day off (29 Tết): as if received on the next working day.
    on_tet = plan(p, cal, datetime(2027, 2, 4, 16, 45, tzinfo=TZ))
    assert on_tet.counted_from == datetime(2027, 2, 12, 7, 30, tzinfo=TZ)
    assert on_tet.appointment.date() == date(2027, 2, 16)
