"""Settings as an operator meets them: `motcua config` prints what a process would run
with (secrets masked), a wrong setting stops every command at start with the variable's
name (exit 2), and `motcua db` migrates the read model on both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect
from temporalio.service import TLSConfig
from typer.testing import CliRunner

from infra.settings import Settings, SettingsError, get_settings, load_settings
from infra.temporal import tls_config
from motcua.cli import app
from store.db import head_revision, make_engine
from tests.conftest import fresh_pg_database
from tests.payload_keys import TEST_KEYRING, TEST_PAYLOAD_KEYS

runner = CliRunner()
SECRET = "s3cr3t-" + "x" * 40


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No MOTCUA_* from the caller's shell; settings read afresh by each command."""
    import os

    for name in list(os.environ):
        if name.startswith("MOTCUA_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("MOTCUA_STATE_DIR", str(tmp_path / "state"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def lines_of(stdout: str) -> dict[str, str]:
    return {line.split("=", 1)[0]: line for line in stdout.splitlines()}


def invoke(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    get_settings.cache_clear()
    return runner.invoke(app, list(args), env=env)


def test_config_prints_every_setting_with_secrets_and_passwords_masked(tmp_path: Path) -> None:
    env = {
        "MOTCUA_ENVIRONMENT": "production",
        "MOTCUA_JWT_SECRET": SECRET,
        "MOTCUA_PAYMENT_GATEWAY_SECRET": SECRET + "-pay",
        "MOTCUA_PORTAL_TOKEN": "portal-token-value",
        "DATABASE_URL": "postgresql+psycopg://motcua:db-password@app-db:5432/motcua",
        "MOTCUA_TEMPORAL_ADDRESS": "temporal:7233",
        "MOTCUA_API_PORT": "8080",
        "MOTCUA_PAYLOAD_KEYS": TEST_PAYLOAD_KEYS,  # production needs a payload key ring
    }
    result = invoke("config", env=env)
    assert result.exit_code == 0, result.output
    payload_key = TEST_KEYRING.to_json().split('"')[-2]  # the key's base64
    for secret in (SECRET, "portal-token-value", "db-password", payload_key):
        assert secret not in result.output
    assert lines_of(result.stdout)["MOTCUA_PAYLOAD_KEYS"].startswith("MOTCUA_PAYLOAD_KEYS=********")
    lines = {line.split("=", 1)[0]: line for line in result.stdout.splitlines()}
    # Every field of the one Settings class appears, named by its variable.
    assert len(lines) == len(Settings.model_fields)
    assert lines["MOTCUA_JWT_SECRET"].startswith("MOTCUA_JWT_SECRET=********")
    assert lines["MOTCUA_PORTAL_TOKEN"].startswith("MOTCUA_PORTAL_TOKEN=********")
    assert lines["DATABASE_URL"].startswith(
        "DATABASE_URL=postgresql+psycopg://motcua:********@app-db:5432/motcua"
    )
    # What came from the environment is not marked as a default; the rest is.
    assert "# mặc định" not in lines["MOTCUA_API_PORT"]
    assert lines["MOTCUA_API_PORT"].startswith("MOTCUA_API_PORT=8080")
    assert "# mặc định" in lines["MOTCUA_LOG_LEVEL"]
    assert lines["MOTCUA_TEMPORAL_TLS"].startswith("MOTCUA_TEMPORAL_TLS=false")

    as_json = json.loads(invoke("config", "--json", env=env).stdout)
    assert as_json["MOTCUA_TEMPORAL_ADDRESS"] == "temporal:7233"
    assert as_json["MOTCUA_PAYMENT_GATEWAY_SECRET"] == "********"
    assert as_json["MOTCUA_TEMPORAL_API_KEY"] == ""  # unset secrets show empty
    # Derived defaults are shown as the process will use them.
    assert as_json["MOTCUA_DOCUMENT_STORE"] == str(tmp_path / "state" / "documents")


def test_config_describe_tells_each_setting_in_vietnamese() -> None:
    """`--describe` adds each setting's meaning after its value, as the operator reads it."""
    result = invoke("config", "--describe", env={"MOTCUA_API_PORT": "8080"})
    assert result.exit_code == 0, result.output
    lines = lines_of(result.stdout)
    assert len(lines) == len(Settings.model_fields)
    assert lines["MOTCUA_LOG_LEVEL"].split("  # ")[1] == "mặc định; mức log gốc"
    assert lines["MOTCUA_API_PORT"].split("  # ")[1] == "cổng lắng nghe của API"
    assert lines["MOTCUA_SMTP_PORT"].split("  # ")[1] == (
        "mặc định; cổng SMTP (không đặt: 587 với starttls, 465 với ssl, 25 với none)"
    )
    # Without --describe, only the default marker.
    plain = lines_of(invoke("config").stdout)
    assert plain["MOTCUA_LOG_LEVEL"].split("  # ")[1] == "mặc định"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"MOTCUA_API_PORT": "eighty"},
            "MOTCUA_API_PORT: phải là số nguyên (giá trị đã đặt: 'eighty')",
        ),
        (
            {"MOTCUA_METRICS_PORT": "70000"},
            "MOTCUA_METRICS_PORT: không phải cổng TCP (phải nằm trong khoảng 1-65535) "
            "(giá trị đã đặt: '70000')",
        ),
        (
            {"MOTCUA_LOG_LEVEL": "loud"},
            "MOTCUA_LOG_LEVEL: phải là một trong: CRITICAL, ERROR, WARNING, INFO, DEBUG "
            "(giá trị đã đặt: 'loud')",
        ),
        (
            {"MOTCUA_TEMPORAL_ADDRESS": "temporal"},
            "MOTCUA_TEMPORAL_ADDRESS: không có dạng host:port (ví dụ temporal:7233)",
        ),
        (
            {"DATABASE_URL": "mysql://u@h/db"},
            "DATABASE_URL: dữ liệu đọc chỉ chạy trên SQLite hoặc PostgreSQL, không chạy trên mysql",
        ),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL: không phải URL của cơ sở dữ liệu"),
        (
            {"MOTCUA_ENVIRONMENT": "staging"},
            "MOTCUA_ENVIRONMENT: phải là một trong: 'development', 'production' "
            "(giá trị đã đặt: 'staging')",
        ),
        (
            {"MOTCUA_CATALOG_REFRESH_SECONDS": "0"},
            "MOTCUA_CATALOG_REFRESH_SECONDS: phải lớn hơn 0 (giá trị đã đặt: '0')",
        ),
        (
            {"MOTCUA_TEMPORAL_TLS": "perhaps"},
            "MOTCUA_TEMPORAL_TLS: phải là true hoặc false (giá trị đã đặt: 'perhaps')",
        ),
        (
            {"MOTCUA_CORS_ORIGINS": '["https://a.gov.vn"'},
            "MOTCUA_CORS_ORIGINS: không phải JSON hợp lệ",
        ),
        (
            {"MOTCUA_CORS_ORIGINS": '{"a": 1}'},
            "MOTCUA_CORS_ORIGINS: phải là một danh sách",
        ),
        (
            {"MOTCUA_DOCUMENT_STORE": "s3://motcua-documents"},
            "MOTCUA_DOCUMENT_STORE: kho văn bản 's3://' chưa được hỗ trợ",
        ),
        (
            {"MOTCUA_TEMPORAL_TLS_CA_FILE": "/nowhere/ca.pem"},
            "MOTCUA_TEMPORAL_TLS_CA_FILE: không đọc được /nowhere/ca.pem: không có tệp này",
        ),
        (
            {"MOTCUA_ENVIRONMENT": "production"},
            "MOTCUA_JWT_SECRET đang là giá trị mẫu dành cho phát triển",
        ),
        (
            {"MOTCUA_ENVIRONMENT": "production", "MOTCUA_JWT_SECRET": "tiny-secret"},
            "MOTCUA_JWT_SECRET ngắn hơn 32 byte",
        ),
        (
            {"MOTCUA_ENVIRONMENT": "production", "MOTCUA_JWT_SECRET": SECRET},
            "MOTCUA_PAYMENT_GATEWAY_SECRET đang là giá trị mẫu dành cho phát triển",
        ),
        (
            {"MOTCUA_PAYLOAD_KEYS": '{"keys": {"a": "c2hvcnQ="}}'},
            "MOTCUA_PAYLOAD_KEYS: khóa 'a' dài 5 byte; AES-256 cần 32 byte",
        ),
    ],
)
@pytest.mark.parametrize("command", [["config"], ["worker", "centre"], ["api"], ["db", "upgrade"]])
def test_a_wrong_setting_stops_every_command_at_start(
    env: dict[str, str], message: str, command: list[str]
) -> None:
    result = invoke(*command, env=env)
    assert result.exit_code == 2, result.output
    assert "cấu hình không hợp lệ" in result.output
    assert message in result.output
    # Nothing of pydantic's own English reaches the operator.
    for english in ("Input should", "is not", "must be", "got '", "Value error"):
        assert english not in result.output, english
    for name, value in env.items():
        if "SECRET" in name:
            assert value not in result.output  # a secret is never echoed


def test_tls_files_build_the_clients_tls_config(tmp_path: Path) -> None:
    ca, cert, key = (tmp_path / n for n in ("ca.pem", "client.pem", "client.key"))
    for path in (ca, cert, key):
        path.write_bytes(f"-----{path.name}-----".encode())
    assert tls_config(Settings(state_dir=tmp_path)) is False  # the dev server: plain gRPC
    assert isinstance(tls_config(Settings(temporal_tls=True)), TLSConfig)  # system roots
    config = tls_config(
        Settings(
            temporal_tls_ca_file=ca,
            temporal_tls_cert_file=cert,
            temporal_tls_key_file=key,
            temporal_tls_server_name="temporal.motcua.internal",
        )
    )
    assert isinstance(config, TLSConfig)
    assert config.server_root_ca_cert == b"-----ca.pem-----"
    assert config.client_cert == b"-----client.pem-----"
    assert config.client_private_key == b"-----client.key-----"
    assert config.domain == "temporal.motcua.internal"
    with pytest.raises(SettingsError, match="phải được đặt cùng nhau"):
        load_settings(temporal_tls_cert_file=cert)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cli.db'}"
        return
    with fresh_pg_database("motcua_cli", migrated=False) as engine:
        yield engine.url.render_as_string(hide_password=False)


def test_db_commands_migrate_report_and_roll_back(database_url: str) -> None:
    env = {"DATABASE_URL": database_url}
    head = head_revision()

    empty = invoke("db", "current", env=env)
    assert empty.exit_code == 1 and "hiện tại: (trống)" in empty.stdout

    up = invoke("db", "upgrade", env=env)
    assert up.exit_code == 0, up.output
    assert f"dữ liệu đọc ở phiên bản {head} (trước đó: None)" in up.stdout
    assert invoke("db", "current", env=env).exit_code == 0
    again = invoke("db", "upgrade", env=env)
    assert again.stdout.strip() == f"dữ liệu đọc ở phiên bản {head}"

    down = invoke("db", "downgrade", "0003", "--yes", env=env)
    assert down.exit_code == 0, down.output
    behind = invoke("db", "current", env=env)
    assert behind.exit_code == 1 and "hiện tại: 0003" in behind.stdout
    assert invoke("db", "downgrade", "nonsense", "--yes", env=env).exit_code == 2

    assert invoke("db", "upgrade", env=env).exit_code == 0
    engine = make_engine(database_url)
    try:
        assert "dossiers" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_db_upgrade_on_an_unreachable_server_fails_clearly() -> None:
    result = invoke(
        "db",
        "upgrade",
        env={"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"},
    )
    assert result.exit_code == 1
    assert "không nâng cấp được dữ liệu đọc: OperationalError" in result.output


def test_api_with_an_unusable_jwt_key_file_stops_before_serving(tmp_path: Path) -> None:
    """The bearer-token keys are read when `motcua api` starts: a JWKS without a usable
    key stops it with exit 2 and a Vietnamese line, before migrations or a listening port
    (a real process: without the check, uvicorn's startup fails later, after the migrations,
    with a traceback and exit code 3)."""
    import os
    import socket
    import subprocess
    import sys

    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y"}]}')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
    env |= {
        "MOTCUA_STATE_DIR": str(tmp_path / "state"),
        "MOTCUA_JWT_ALGORITHM": "RS256",
        "MOTCUA_JWT_JWKS_FILE": str(jwks),
        "MOTCUA_API_PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "motcua.cli", "api"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    # (a library's deprecation warning may come first)
    assert done.stderr.endswith(
        f"lỗi: cấu hình không hợp lệ:\n  {jwks} không có khóa chữ ký RSA nào dùng được cho RS256\n"
    )
    assert not (tmp_path / "api.db").exists()  # nothing migrated
