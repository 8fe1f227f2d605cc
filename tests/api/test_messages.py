"""What a person reads from the API is Vietnamese, and English on `Accept-Language: en`:
every family of errors (401, 403, 404, 405, 413, 422, 429, a refusal of the dossier
machine), with the same code and body shape in both; every message of the catalogues
has both texts."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

import api.messages
import api.validation
import domain.catalog_messages
import domain.machine.messages
import domain.validation
import infra.codec
import infra.messages
import infra.settings_messages
import services.catalog
import services.messages
import signatures.signing.messages
from api.errors import ApiError, install_error_handlers, reason_of
from api.language import negotiate
from domain.calendar import Duration, TimeUnit
from domain.catalog import Role
from domain.dossier import Status
from domain.i18n import Text, templates
from domain.machine import Refusal
from services.dossiers import ServiceError
from tests.api.support import error_of
from tests.api.test_hardening import bearer, client_for, hardening_settings, token

CATALOGUES = (
    api.messages,
    api.validation,
    domain.machine.messages,
    services.messages,
    services.catalog,
    infra.messages,
    infra.codec,
    domain.catalog_messages,
    domain.validation,
    infra.settings_messages,
    signatures.signing.messages,
)
EN = {"Accept-Language": "en"}
# A letter only Vietnamese writes: a Vietnamese text without one is suspect.
VIETNAMESE = re.compile(
    r"[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]", re.I
)
# Texts that read the same in both languages (names, codes, a path and its reason).
SAME_IN_BOTH = {
    "api.where_reason",
    "api.token_missing",  # the header's syntax; the sentence around it is tested below
    "catalog.at",  # a file and field, and what is wrong there
    "codec.in_source",  # a key ring's variable or file, and what is wrong there
    "settings.named",  # a variable, and what is wrong with it
}


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_message_has_vietnamese_and_english() -> None:
    keys = templates()
    assert len(keys) > 150, len(keys)
    for module in CATALOGUES:  # each catalogue module's keys are registered
        for cat in (v for v in vars(module).values() if hasattr(v, "entries")):
            assert set(cat.entries) <= set(keys), module.__name__
    for key, (vi, en) in keys.items():
        assert vi.strip() and en.strip(), key
        if key.startswith(("machine.status.", "machine.role.")) or key in SAME_IN_BOTH:
            continue
        assert vi != en, f"{key}: the same text in both languages: {vi!r}"
        if fields(vi) != {"where", "reason"} and not vi.startswith("{"):
            assert VIETNAMESE.search(vi), f"{key}: not Vietnamese: {vi!r}"


def test_both_texts_of_a_message_take_the_same_parameters() -> None:
    # One exception on purpose: an invalid document is described by pydantic's type in
    # Vietnamese and by pydantic's own (English) message in English.
    for key, (vi, en) in templates().items():
        if key == "machine.documents_invalid":
            assert fields(vi) - {"kind"} == fields(en) - {"msg"}
            continue
        assert fields(vi) == fields(en), key


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "vi"),
        ("", "vi"),
        ("vi", "vi"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("EN-gb", "en"),
        ("vi-VN, en;q=0.8", "vi"),
        ("vi;q=0.5, en;q=0.6", "en"),
        ("fr-FR, en;q=0.5", "en"),
        ("fr, de", "vi"),
        ("*", "vi"),
        ("en;q=0", "vi"),
        ("en;q=abc", "vi"),
        (";;;,,,", "vi"),
    ],
)
def test_accept_language_is_negotiated_with_q_values(header: str | None, lang: str) -> None:
    assert negotiate(header) == lang


def test_numbers_instants_and_durations_are_written_the_readers_way() -> None:
    from datetime import UTC, date, datetime

    text = api.messages.T("body_too_large", limit=12_345_678)
    assert "12.345.678 byte" in str(text) and "12,345,678 bytes" in text.render("en")
    cap = Duration(value=0.5, unit=TimeUnit.WORKING_DAYS)
    at = datetime(2030, 1, 30, 10, 0, tzinfo=UTC)
    refusal = domain.machine.messages.T("extension_cap", cap=cap, limit=at, new=date(2030, 2, 1))
    assert str(refusal) == (
        "Ngày hẹn mới chỉ được thêm tối đa 0,5 ngày làm việc (đến 17:00 30/01/2030); "
        "01/02/2030 là quá muộn"
    )
    assert refusal.render("en") == (
        "the new appointment may add at most 0.5 working days (until "
        "2030-01-30T10:00:00+00:00); 2030-02-01 is later"
    )
    # Through Temporal as plain data, and back.
    again = Text.from_json(refusal.to_json())
    assert again is not None and again.render("en") == refusal.render("en")
    assert Text.from_json({"key": "machine.no_such", "params": {}}) is None


def answered(http: TestClient, method: str, path: str, **kw: Any) -> tuple[str, str, str]:
    """The Vietnamese answer, then the English one: same status and code, two messages."""
    headers = kw.pop("headers", {})
    vi = http.request(method, path, headers=headers, **kw)
    en = http.request(method, path, headers=headers | EN, **kw)
    assert vi.status_code == en.status_code, (vi.text, en.text)
    code = error_of(vi, vi.status_code)
    assert vi.json()["error"]["code"] == en.json()["error"]["code"]
    assert "accept-language" in vi.headers.get("vary", "").lower(), vi.headers
    return vi.json()["error"]["code"], code, error_of(en, en.status_code)


def test_each_error_family_is_vietnamese_by_default_and_english_on_request(
    tmp_path: Path, engine: Engine
) -> None:
    settings = hardening_settings(tmp_path, rate_limit_submit_per_minute=2)
    with client_for(settings, engine) as http:
        applicant = bearer(token(settings, "citizen-1", Role.APPLICANT))
        officer = bearer(token(settings, "cb-1", Role.INTAKE_OFFICER, "000.00.01.H99"))

        # 401: no token
        code, vi, en = answered(http, "GET", "/v1/worklist")
        assert code == "unauthenticated"
        assert vi.startswith("Thiếu bearer token") and en.startswith("missing bearer token")

        # 403: the wrong role
        code, vi, en = answered(http, "GET", "/v1/worklist", headers=applicant)
        assert code == "forbidden"
        assert vi == "Chỉ cán bộ của một cơ quan mới có danh sách việc cần làm"
        assert en == "only officers of an agency have a worklist"

        # 404: FastAPI's default, and the API's own
        code, vi, en = answered(http, "GET", "/v1/nowhere", headers=officer)
        assert (code, vi, en) == ("not_found", "Không tìm thấy", "Not Found")
        code, vi, en = answered(http, "GET", "/v1/procedures/9.999999", headers=officer)
        assert code == "not_found"
        assert vi == "Không có thủ tục 9.999999" and en == "unknown procedure 9.999999"

        # 405
        code, vi, en = answered(http, "PUT", "/v1/procedures", headers=officer)
        assert code == "method_not_allowed"
        assert vi == "Phương thức PUT không dùng được với địa chỉ này"
        assert en == "method PUT is not allowed here"

        # 413: over the body limit (nothing read)
        big = b"{" + b" " * (settings.max_request_bytes + 1) + b"}"
        code, vi, en = answered(
            http,
            "POST",
            "/v1/verify",
            content=big,
            headers=officer | {"Content-Type": "application/pdf"},
        )
        assert code == "too_large"
        assert vi.startswith("Nội dung yêu cầu vượt quá") and " byte" in vi
        assert en.startswith("request body is over") and " bytes" in en

        # 422: FastAPI's validation, a field path and a sentence per error
        code, vi, en = answered(http, "GET", "/v1/worklist", params={"limit": 0}, headers=officer)
        assert code == "invalid"
        assert vi == "query.limit: phải lớn hơn hoặc bằng 1", vi
        assert en == "query.limit: Input should be greater than or equal to 1", en
        # ... a validator of our own
        body = {"procedure_code": "3.000333", "applicant": {}, "documents": [{"kind": "x"}]}
        code, vi, en = answered(http, "POST", "/v1/dossiers", json=body, headers=officer)
        assert code == "invalid"
        assert "applicant.name: bắt buộc phải có" in vi, vi
        assert "applicant.name: Field required" in en, en
        # ... and NUL characters, answered before any route
        code, vi, en = answered(http, "GET", "/v1/procedures?q=a%00b", headers=officer)
        assert (vi, en) == (
            "q: không được chứa ký tự NUL",
            "q: may not contain NUL characters",
        )

        # 429: two submissions a minute (refused ones count too)
        for _ in range(2):
            r = http.post("/v1/dossiers", json={}, headers=applicant)
            assert r.status_code == 422
        r = http.post("/v1/dossiers", json={}, headers=applicant)
        vi = error_of(r, 429, "rate_limited")
        assert vi.startswith("Quá nhiều lượt nộp hồ sơ (tối đa 2 mỗi phút)"), vi
        assert re.search(r"thử lại sau \d+ giây$", vi), vi
        r = http.post("/v1/dossiers", json={}, headers=applicant | EN)
        en = error_of(r, 429, "rate_limited")
        assert re.fullmatch(
            r"too many dossier submissions \(at most 2 a minute\); retry in \d+ s", en
        )


def test_a_refusal_of_the_machine_reaches_the_caller_in_the_callers_language() -> None:
    """The path of a refusal: the machine's Text, carried through Temporal as its key and
    parameters (an update failure's details), a ServiceError, then an ApiError rendered
    by the error handler."""
    refusal = Refusal(
        "closed",
        domain.machine.messages.T(
            "closed",
            code="H99.01-300107-0001",
            status=domain.machine.messages.status(Status.STOPPED),
            action="appraise",
        ),
    )
    assert refusal.text is not None
    carried = Text.from_json(refusal.text.to_json())
    assert carried is not None
    service_error = ServiceError(refusal.code, carried)
    assert service_error.message == refusal.message  # recorded in refused_attempts

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/act")
    async def act() -> None:
        raise ApiError(409, service_error.code, service_error.text or service_error.message)

    http = TestClient(app)
    vi = http.get("/act").json()
    en = http.get("/act", headers={"Accept-Language": "en-US,en;q=0.9,vi;q=0.5"}).json()
    assert vi == {
        "error": {
            "code": "closed",
            "message": "Hồ sơ H99.01-300107-0001 đã kết thúc (Dừng xử lý); không thể thực hiện "
            "'appraise' nữa",
        }
    }
    assert en == {
        "error": {
            "code": "closed",
            "message": "dossier H99.01-300107-0001 is closed (stopped); 'appraise' is no longer "
            "possible",
        }
    }


def test_a_message_from_outside_the_catalogues_is_answered_as_it_is() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/x")
    async def x() -> None:
        raise ApiError(409, "archive_tampered", "Lịch sử lưu trữ của hồ sơ X đã bị thay đổi")

    http = TestClient(app)
    for headers in ({}, EN):
        r = http.get("/x", headers=headers)
        assert r.json()["error"]["message"] == "Lịch sử lưu trữ của hồ sơ X đã bị thay đổi"


def test_the_web_interface_asks_for_vietnamese() -> None:
    """The pages are Vietnamese: their API calls ask for Vietnamese whatever the
    browser's own language (a browser in English would otherwise get English errors)."""
    root = Path(__file__).resolve().parents[2] / "api" / "ui" / "static"
    assert '"Accept-Language": "vi"' in (root / "app.js").read_text()
    assert '"Accept-Language": "vi"' in (root / "pages" / "login.js").read_text()


def test_an_upload_refused_for_its_content_says_why_in_either_language() -> None:
    from infra.docstore import UploadRefused, validate_upload

    with pytest.raises(UploadRefused) as refused:
        validate_upload(b"%PDF-1.7\n" + b"0" * 200, "to-khai.pdf")
    app = FastAPI()
    install_error_handlers(app)
    exc = refused.value

    @app.get("/upload")
    async def upload() -> None:
        raise ApiError(
            exc.status,
            exc.code,
            api.messages.T("upload_file", filename="to-khai.pdf", reason=reason_of(exc)),
        )

    http = TestClient(app)
    vi = error_of(http.get("/upload"), 422, "invalid")
    en = error_of(http.get("/upload", headers=EN), 422, "invalid")
    assert vi.startswith("Tệp to-khai.pdf: không phải tệp PDF hợp lệ: không đọc được cấu trúc")
    assert en.startswith("file to-khai.pdf: not a valid PDF file: its structure")
    assert str(exc) == exc.args[0].render("vi")  # what the CLI and the logs print
