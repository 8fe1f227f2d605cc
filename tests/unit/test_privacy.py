"""The applicant's personal data: the masks, the redaction of log lines and spans, and the
rule of who sees it in clear (api/privacy.py). No server: the API-level checks are in
tests/api/test_personal_data_visibility.py, the whole-dossier scan in
tests/api/test_minimisation.py."""

from __future__ import annotations

import base64
import io
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from opentelemetry.trace import Status, StatusCode
from pydantic import ValidationError
from sqlalchemy import Column, MetaData, String, Table, insert
from sqlalchemy.exc import IntegrityError

from api.auth import Principal
from api.privacy import can_see_personal_data, shown_applicant, shown_event, shown_event_data
from api.schemas import EventOut
from domain.catalog import Role
from domain.dossier import Applicant
from infra import telemetry
from infra.privacy import mask_email, mask_id_number, mask_name, mask_phone, redact
from store.db import make_engine
from tests.minimisation import found_in, history_text, name_forms

NAME = "Nguyễn Thị Bảo Mật"
ID_NUMBER = "001199054321"
PHONE = "0987654321"
EMAIL = "bao.mat@example.vn"
ADDRESS = "12 Lê Lợi, Hạ Long"
APPLICANT = Applicant(
    name=NAME, id_number=ID_NUMBER, phone=PHONE, email=EMAIL, address=ADDRESS, account="cit-1"
)
SECRETS = (NAME, ID_NUMBER, PHONE, EMAIL, ADDRESS, "Bảo Mật", "bao.mat")

CENTRE, POLICE, TAX = "000.00.01.H99", "000.00.20.H99", "000.00.21.H99"


# --------------------------------------------------------------------------- masks


def test_masks_keep_only_what_lets_the_applicant_recognise_their_data() -> None:
    assert mask_id_number("001099012345") == "0010******45"
    assert mask_id_number("022090001") == "022****01"
    assert mask_name("Nguyễn Văn An") == "N*** V*** A***"
    assert mask_phone("0912345678") == "09******78"
    assert mask_phone("0912 345 678") == "09******78"
    assert mask_email("an.nguyen@example.vn") == "a***@example.vn"
    assert (mask_phone(""), mask_email(""), mask_name("")) == ("", "", "")


def test_a_masked_applicant_holds_no_personal_value() -> None:
    shown = shown_applicant(APPLICANT, visible=False)
    assert shown.masked and shown.address is None
    text = shown.model_dump_json()
    for secret in SECRETS:
        assert secret not in text, secret
    clear = shown_applicant(APPLICANT, visible=True)
    assert not clear.masked
    assert (clear.name, clear.id_number, clear.phone, clear.email, clear.address) == (
        NAME,
        ID_NUMBER,
        PHONE,
        EMAIL,
        ADDRESS,
    )


def test_event_data_of_a_return_is_masked_for_those_without_the_right() -> None:
    data = {"channel": "post", "received_by": NAME, "address": ADDRESS, "tracking_number": "EE1"}
    assert shown_event_data(data, visible=True) == data
    masked = shown_event_data(data, visible=False)
    assert masked == {
        "channel": "post",
        "received_by": "N*** T*** B*** M***",
        "address": "***",
        "tracking_number": "EE1",
    }


def test_an_event_the_applicant_took_shows_their_name_masked() -> None:
    event = EventOut(
        id="C:1",
        seq=1,
        kind="submitted",
        at=datetime(2026, 1, 5, tzinfo=UTC),
        actor_id="cit-1",
        actor_name=NAME,
        role="applicant",
        agency=None,
        step_id=None,
        step_kind=None,
        status_before=None,
        status_after="submitted",
        comment="",
        data={"channel": "online"},
    )
    assert shown_event(event, visible=True) == event
    assert shown_event(event, visible=False).actor_name == "N*** T*** B*** M***"
    officer = event.model_copy(update={"role": "intake_officer", "actor_name": "Cán bộ A"})
    assert shown_event(officer, visible=False).actor_name == "Cán bộ A"


# --------------------------------------------------------------------------- the rule


def principal(*roles: Role, agency: str | None = None, sub: str = "someone") -> Principal:
    return Principal(sub=sub, roles=list(roles), agency=agency)


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        (principal(Role.APPLICANT, sub="cit-1"), True),
        (principal(Role.APPLICANT, sub="cit-2"), False),
        # an applicant's agency claim grants nothing
        (principal(Role.APPLICANT, agency=CENTRE, sub="cit-2"), False),
        (principal(Role.INTAKE_OFFICER, agency=CENTRE), True),
        (principal(Role.SPECIALIST, agency=POLICE), True),
        (principal(Role.LEADER, agency=POLICE), True),
        (principal(Role.LEADER, agency=TAX), False),
        (principal(Role.SPECIALIST, agency=TAX), False),
        (principal(Role.AUDITOR), True),
        (principal(Role.ADMIN), False),
        (principal(Role.ADMIN, agency=CENTRE), False),
        (principal(Role.ADMIN, Role.AUDITOR), True),
        (None, False),  # public tracking
    ],
)
def test_who_sees_personal_data_in_clear(who: Principal | None, sees: bool) -> None:
    assert can_see_personal_data(who, applicant_account="cit-1", agencies={CENTRE, POLICE}) is sees


def test_a_counter_dossier_has_no_account_that_could_match() -> None:
    assert not can_see_personal_data(
        principal(Role.APPLICANT, sub="cit-1"), applicant_account=None, agencies={CENTRE}
    )


# --------------------------------------------------------------------------- redaction


def test_redact_blanks_what_looks_like_personal_data_and_keeps_codes() -> None:
    text = (
        f"GET /v1/track/000.00.20.H99-260101-0001?id_number={ID_NUMBER} "
        f"call {PHONE} or +84 987 654 321, mail {EMAIL}, CMND 022090001; "
        "actor intake_officer@000.00.01.H99 trace 4bf92f3577b34da6a3ce929d0e0e4736"
    )
    clean = redact(text)
    for secret in (ID_NUMBER, PHONE, "987 654 321", EMAIL, "022090001"):
        assert secret not in clean, (secret, clean)
    for kept in (
        "/v1/track/000.00.20.H99-260101-0001",
        "intake_officer@000.00.01.H99",
        "4bf92f3577b34da6a3ce929d0e0e4736",
    ):
        assert kept in clean, (kept, clean)
    # URLs travel encoded: "?q=Nguy%E1%BB%85n+Th%E1%BB%8B..."
    assert redact(f"/v1/dossiers?q={quote_plus(NAME)}&limit=5") == "/v1/dossiers?<redacted>"


def test_redact_removes_the_input_pydantic_echoes() -> None:
    with pytest.raises(ValidationError) as caught:
        Applicant(name=NAME, id_number="12ab", address=ADDRESS)  # type: ignore[call-arg]
    with pytest.raises(ValidationError) as whole:
        Applicant.model_validate({"name": "", "id_number": ID_NUMBER, "address": ADDRESS})
    for exc in (caught.value, whole.value):
        assert "input_value" in str(exc)
        clean = redact(str(exc))
        assert "input_value=<redacted>" in clean
        for secret in (NAME, ID_NUMBER, ADDRESS, "12ab"):
            assert secret not in clean, clean


def test_a_failed_statement_never_carries_its_parameters() -> None:
    engine = make_engine("sqlite://")
    table = Table("t", MetaData(), Column("name", String, primary_key=True))
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(table).values(name=NAME))
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        conn.execute(insert(table).values(name=NAME))
    assert NAME not in str(caught.value)  # make_engine hides them
    # And should an engine show them, the redaction takes them out.
    shown = f"(sqlite3.IntegrityError) UNIQUE\n[SQL: INSERT]\n[parameters: ('{NAME}',)]\n"
    assert NAME not in redact(shown)


def test_log_lines_and_their_exceptions_are_redacted() -> None:
    stream = io.StringIO()
    handler = telemetry.log_handler(json=True, stream=stream)
    logger = logging.getLogger("motcua.test_privacy")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        try:
            Applicant.model_validate({"name": NAME, "id_number": "x", "email": EMAIL})
        except ValidationError:
            logger.exception("could not read the applicant of %s", "000.00.20.H99-260101-0001")
        logger.info("sms to %s, mail to %s, id %s", PHONE, EMAIL, ID_NUMBER)
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 2
    assert lines[0]["message"] == "could not read the applicant of 000.00.20.H99-260101-0001"
    assert "ValidationError" in lines[0]["exception"]
    for secret in (NAME, EMAIL, PHONE, ID_NUMBER):
        assert secret not in stream.getvalue(), secret
    assert lines[1]["message"] == "sms to <phone>, mail to <email>, id <id-number>"


def test_uvicorn_loggers_redact_for_their_own_handlers_too() -> None:
    """In text mode uvicorn keeps its own handlers: its loggers filter the records."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        telemetry.configure_logging(json=False, level=level or logging.WARNING)
        for name in ("uvicorn.access", "uvicorn.error"):
            record = logging.LogRecord(
                name, logging.ERROR, __file__, 1, "on %s", (f"/v1/x?q={ID_NUMBER}",), None
            )
            assert logging.getLogger(name).filter(record)
            assert record.getMessage() == "on /v1/x?<redacted>"
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


def test_uvicorns_own_access_formatter_formats_the_filtered_records() -> None:
    """In text mode uvicorn's access handler formats its lines with an AccessFormatter
    that unpacks the record's arguments: after the filters they are still there,
    redacted (a record whose arguments were folded into its message made every access
    line a "--- Logging error ---" traceback)."""
    from uvicorn.logging import AccessFormatter

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    access = logging.getLogger("uvicorn.access")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessFormatter('%(client_addr)s "%(request_line)s" %(status_code)s'))
    handler.handleError = lambda record: pytest.fail(f"logging failed on {record.args}")  # type: ignore[method-assign]
    old_level, old_propagate = access.level, access.propagate
    try:
        telemetry.configure_logging(json=False, level=logging.WARNING)
        access.addHandler(handler)
        access.setLevel(logging.INFO)
        access.propagate = False
        line = '%s - "%s %s HTTP/%s" %d'
        access.info(line, "127.0.0.1:5000", "GET", f"/v1/track/X?id_number={ID_NUMBER}", "1.1", 404)
        access.info(line, "127.0.0.1:5001", "GET", f"/v1/people/{EMAIL}", "1.1", 200)
    finally:
        access.removeHandler(handler)
        access.setLevel(old_level)
        access.propagate = old_propagate
        for h in list(root.handlers):
            if h not in handlers:
                root.removeHandler(h)
        root.setLevel(level)
    lines = stream.getvalue().splitlines()
    assert lines == [
        '127.0.0.1:5000 "GET /v1/track/X HTTP/1.1" 404 Not Found',
        '127.0.0.1:5001 "GET /v1/people/<email> HTTP/1.1" 200 OK',
    ], lines


def test_spans_leave_the_process_without_personal_attributes_or_text() -> None:
    tracer = telemetry.tracer_provider().get_tracer("test_privacy")
    with telemetry.capture_spans() as exporter:
        with tracer.start_as_current_span("GET /v1/track/{code}") as span:
            span.set_attribute("http.url", f"http://x/v1/track/C?id_number={ID_NUMBER}")
            span.set_attribute("applicant.name", NAME)
            span.set_attribute("motcua.dossier_code", "000.00.20.H99-260101-0001")
            span.set_attribute("tags", ["ok", f"phone {PHONE}"])
            try:
                raise ValueError(f"bad input from {EMAIL} ({ID_NUMBER})")
            except ValueError as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, str(exc)))
        with tracer.start_as_current_span("plain") as plain:
            plain.set_attribute("motcua.procedure_code", "3.000333")
    spans = {s.name: s for s in exporter.get_finished_spans()}
    track = spans["GET /v1/track/{code}"]
    attributes = dict(track.attributes or {})
    assert "applicant.name" not in attributes
    assert attributes["motcua.dossier_code"] == "000.00.20.H99-260101-0001"
    assert attributes["http.url"] == "http://x/v1/track/C?<redacted>"
    everything = repr(attributes) + repr([(e.name, dict(e.attributes or {})) for e in track.events])
    everything += track.status.description or ""
    for secret in (NAME, ID_NUMBER, PHONE, EMAIL):
        assert secret not in everything, secret
    assert any(e.name == "exception" for e in track.events)
    assert "bad input from <email>" in (track.status.description or "")
    assert dict(spans["plain"].attributes or {}) == {"motcua.procedure_code": "3.000333"}


# --------------------------------------------------------------------------- histories

HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
def test_a_recorded_history_holds_its_applicant_only_in_data_payloads(path: Path) -> None:
    """Workflow id, search attributes, memo, summaries, headers, activity and update ids,
    failure messages: none names the applicant. (The data payloads do: the codec encrypts
    them.)"""
    history = json.loads(path.read_text(encoding="utf-8"))
    started = history["events"][0]["workflowExecutionStartedEventAttributes"]
    inp = json.loads(base64.b64decode(started["input"]["payloads"][0]["data"]))
    applicant = Applicant.model_validate(inp["applicant"])
    values = [*name_forms(applicant.name), applicant.id_number, applicant.phone]
    values += [applicant.email, applicant.address]
    counts: dict[str, int] = {}
    text = "\n".join(history_text(history, counts))
    assert counts["metadata"] and counts["data"], counts
    assert inp["procedure"]["code"] in text  # the metadata payloads were decoded
    assert found_in(text, values) == []
