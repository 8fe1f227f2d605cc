"""A wrong setting is told to the operator in Vietnamese when a process starts (English on
request), one line per setting named by its environment variable, a secret's value never
echoed; pydantic's own checks are worded by the one mapping the API and the catalog share
(domain/validation.py)."""

from __future__ import annotations

import enum
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, Json, ValidationError

from domain.validation import error_text, explain
from infra.settings import Settings, SettingsError, get_settings, load_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
# Words of pydantic's and our former English: none may reach a Vietnamese reader.
ENGLISH = ("Input should", "Field required", "is not", "must be", "got '", "Value error")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("MOTCUA_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("MOTCUA_STATE_DIR", str(tmp_path / "state"))
    get_settings.cache_clear()


def refused(monkeypatch: pytest.MonkeyPatch, **env: str) -> SettingsError:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    return caught.value


def assert_vietnamese(text: str) -> None:
    for english in ENGLISH:
        assert english not in text, (english, text)


# A letter only Vietnamese writes; and English words a sentence cannot do without.
VIETNAMESE_LETTER = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.I)
ENGLISH_WORDS = re.compile(r"\b(the|of|and|when|unset|empty|how|per|with|means|none:)\b", re.I)


def test_every_setting_is_described_in_vietnamese() -> None:
    """`motcua config --describe` prints each field's description: the operator reads
    Vietnamese there too (names, values, paths and quoted titles stay as they are)."""
    english = []
    for name, info in Settings.model_fields.items():
        text = info.description or ""
        prose = re.sub(r"'[^']*'|`[^`]*`|\S*[/_.:]\S*", "", text)  # titles, commands, paths
        if not VIETNAMESE_LETTER.search(text) or ENGLISH_WORDS.search(prose):
            english.append(f"{name}: {text!r}")
    assert english == []


def test_a_wrong_port_and_log_level_in_vietnamese_and_in_english(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    err = refused(monkeypatch, MOTCUA_API_PORT="abc", MOTCUA_LOG_LEVEL="LOUD")
    lines = str(err).splitlines()
    assert "MOTCUA_API_PORT: phải là số nguyên (giá trị đã đặt: 'abc')" in lines
    assert (
        "MOTCUA_LOG_LEVEL: phải là một trong: CRITICAL, ERROR, WARNING, INFO, DEBUG "
        "(giá trị đã đặt: 'LOUD')"
    ) in lines
    assert len(lines) == 2
    assert_vietnamese(str(err))
    en = err.render("en").splitlines()
    assert "MOTCUA_API_PORT: Input should be a valid integer (got 'abc')" in en
    assert (
        "MOTCUA_LOG_LEVEL: must be one of CRITICAL, ERROR, WARNING, INFO, DEBUG (got 'LOUD')"
    ) in en


def test_production_with_the_development_jwt_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    err = refused(monkeypatch, MOTCUA_ENVIRONMENT="production")
    assert str(err) == (
        "MOTCUA_JWT_SECRET đang là giá trị mẫu dành cho phát triển: hãy đặt một khóa bí mật "
        "thật, hoặc dùng RS256 với MOTCUA_JWT_PUBLIC_KEY_FILE / MOTCUA_JWT_JWKS_FILE"
    )
    assert err.render("en").startswith("MOTCUA_JWT_SECRET is the development placeholder")
    assert "motcua-development-secret" not in str(err)


def test_production_with_rs256_needs_its_own_rating_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The receipts' rating codes are keyed by the JWT secret when no rating secret is
    set: with RS256 that secret is not a secret, so production refuses to start."""
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    production = {
        "MOTCUA_ENVIRONMENT": "production",
        "MOTCUA_JWT_ALGORITHM": "RS256",
        "MOTCUA_JWT_JWKS_FILE": str(jwks),
        "MOTCUA_PAYMENT_GATEWAY_SECRET": "p" * 32,
    }
    err = refused(monkeypatch, **production)
    assert str(err).startswith("MOTCUA_RATING_SECRET chưa được đặt: với RS256")
    err = refused(monkeypatch, **production, MOTCUA_RATING_SECRET="ngan")
    assert str(err) == "MOTCUA_RATING_SECRET ngắn hơn 16 byte"
    # With one, production goes on to its next requirement (the payload keys).
    err = refused(monkeypatch, **production, MOTCUA_RATING_SECRET="r" * 32)
    assert "MOTCUA_RATING_SECRET" not in str(err) and "MOTCUA_PAYLOAD_KEYS" in str(err)


def test_a_short_secret_is_named_but_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    err = refused(monkeypatch, MOTCUA_PORTAL_PUSH_SECRET="abc123")
    assert str(err) == "MOTCUA_PORTAL_PUSH_SECRET ngắn hơn 16 byte"
    assert "abc123" not in str(err) and "abc123" not in err.render("en")


def test_a_bad_key_ring_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ring = tmp_path / "keys.json"
    ring.write_text('{"current": "a", "keys": {"a": "c2hvcnQ="}}')
    err = refused(monkeypatch, MOTCUA_PAYLOAD_KEYS_FILE=str(ring))
    assert str(err) == (
        f"MOTCUA_PAYLOAD_KEYS_FILE ({ring}): khóa 'a' dài 5 byte; AES-256 cần 32 byte "
        "(tạo khóa bằng `motcua keys new`)"
    )
    ring.write_text("{not json")
    err = refused(monkeypatch, MOTCUA_PAYLOAD_KEYS_FILE=str(ring))
    assert str(err).startswith(f"MOTCUA_PAYLOAD_KEYS_FILE ({ring}) không phải JSON (")
    assert "cần có dạng" in str(err)
    err = refused(monkeypatch, MOTCUA_PAYLOAD_KEYS_FILE=str(tmp_path / "none.json"))
    assert str(err) == f"MOTCUA_PAYLOAD_KEYS_FILE ({tmp_path / 'none.json'}): không có tệp này"


def test_a_json_setting_that_is_not_json(monkeypatch: pytest.MonkeyPatch) -> None:
    err = refused(monkeypatch, MOTCUA_CORS_ORIGINS='["https://a.gov.vn"')
    assert str(err).startswith("MOTCUA_CORS_ORIGINS: không phải JSON hợp lệ (")
    err = refused(monkeypatch, MOTCUA_CORS_ORIGINS='["https://a.gov.vn/path"]')
    assert str(err).startswith(
        "MOTCUA_CORS_ORIGINS: 'https://a.gov.vn/path' không phải một origin như "
        "https://portal.example.gov.vn"
    )


def test_an_openid_provider_names_its_place_in_the_list(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = '[{"name": "tinh", "issuer": "sso.example.gov.vn", "client_id": "motcua"}]'
    err = refused(monkeypatch, MOTCUA_OIDC_PROVIDERS=provider)
    assert str(err) == (
        "MOTCUA_OIDC_PROVIDERS: 0.issuer: 'sso.example.gov.vn' không phải URL của issuer "
        "(https://host[/path]) (giá trị đã đặt: 'sso.example.gov.vn')"
    )


def test_the_motcua_command_exits_2_with_the_vietnamese_line_on_stderr(tmp_path: Path) -> None:
    """The real console script: nothing on stdout, the reason on stderr."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_") and k != "DATABASE_URL"
    }
    env |= {
        "MOTCUA_STATE_DIR": str(tmp_path),
        "MOTCUA_API_PORT": "abc",
        "MOTCUA_ENVIRONMENT": "production",
        "PYTHONPATH": str(REPO_ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "motcua.cli", "config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "lỗi: cấu hình không hợp lệ" in done.stderr
    assert "MOTCUA_API_PORT: phải là số nguyên (giá trị đã đặt: 'abc')" in done.stderr
    assert_vietnamese(done.stderr)


class Colour(enum.Enum):
    RED = "red"


class Probe(BaseModel):
    """One field per pydantic check a setting (or a catalog field) meets."""

    model_config = ConfigDict(extra="forbid")

    needed: int
    whole: int = 0
    flag: bool = False
    ratio: float = 0
    positive: Annotated[int, Field(gt=0)] = 1
    at_least: Annotated[int, Field(ge=1)] = 1
    below: Annotated[int, Field(lt=10)] = 1
    at_most: Annotated[int, Field(le=10)] = 1
    kind: Literal["a", "b"] = "a"
    colour: Colour = Colour.RED
    url: HttpUrl | None = None
    short: Annotated[str, Field(min_length=3)] = "abc"
    long: Annotated[str, Field(max_length=3)] = "abc"
    data: Json[list[int]] | None = None
    items: list[str] = []


def test_every_common_pydantic_error_has_a_vietnamese_sentence() -> None:
    wrong = {
        "whole": "x",
        "flag": "perhaps",
        "ratio": "x",
        "positive": 0,
        "at_least": 0,
        "below": 10,
        "at_most": 11,
        "kind": "c",
        "colour": "blue",
        "url": "not a url",
        "short": "ab",
        "long": "abcd",
        "data": "[1,",
        "items": "x",
        "unknown": 1,
    }
    with pytest.raises(ValidationError) as caught:
        Probe.model_validate(wrong)
    errors = caught.value.errors()
    said = {str(e["loc"][0]): explain(e) for e in errors}
    assert said == {
        "needed": "bắt buộc phải có",
        "whole": "phải là số nguyên",
        "flag": "phải là true hoặc false",
        "ratio": "phải là số",
        "positive": "phải lớn hơn 0",
        "at_least": "phải lớn hơn hoặc bằng 1",
        "below": "phải nhỏ hơn 10",
        "at_most": "phải nhỏ hơn hoặc bằng 10",
        "kind": "phải là một trong: 'a', 'b'",
        "colour": "phải là một trong: 'red'",
        "url": "phải là một URL",
        "short": "phải có ít nhất 3 ký tự",
        "long": "chỉ được có tối đa 3 ký tự",
        "data": "không phải JSON hợp lệ",
        "items": "phải là một danh sách",
        "unknown": "trường này không được phép",
    }
    # In English: pydantic's own words (explain) or the catalogue's (error_text).
    assert explain(errors[0], "en") == "Field required"
    assert error_text(errors[0]).render("en") == "Field required"


def test_an_unknown_error_type_still_says_the_value_is_invalid() -> None:
    err = {"type": "something_new", "loc": ("x",), "msg": "Something new", "input": 1}
    assert explain(err) == "giá trị không hợp lệ (something_new)"
    assert error_text(err).render("en") == "invalid value (something_new)"
    # a template whose parameters the error does not carry: the same fallback
    odd = {"type": "greater_than", "loc": ("x",), "msg": "odd", "input": 1, "ctx": {}}
    assert explain(odd) == "giá trị không hợp lệ (greater_than)"
