"""The `motcua` command line as an operator runs it (Typer's runner, real calendar data)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.settings import REPO_ROOT
from motcua.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # Across Tết 2025 (27/01-31/01 off): the issue's own example.
        (["--from", "2025-01-20T10:00", "--days", "15"], "2025-02-17T17:00:00+07:00"),
        # Thursday 20/08/2026: Friday, make-up Saturday 22/08 and Monday 24/08.
        (["--from", "2026-08-20T10:00", "--days", "3"], "2026-08-24T17:00:00+07:00"),
        # Friday 28/08/2026: 31/08 (swapped), 01-02/09 (National Day) are off.
        (["--from", "2026-08-28T09:00", "--days", "2"], "2026-09-04T17:00:00+07:00"),
        # 29/04/2024 Monday is a swapped day off, 30/04 and 01/05 are holidays, and
        # Saturday 04/05/2024 is a make-up working day: received Friday 26/04 ->
        # 02/05 (1), 03/05 (2), Sat 04/05 (3).
        (["--from", "2024-04-26T10:00", "--days", "3"], "2024-05-04T17:00:00+07:00"),
        # After the 15:00 cut-off on a Friday: counted from Monday's opening.
        (
            ["--from", "2026-11-20T16:00", "--hours", "8", "--cutoff", "15:00"],
            "2026-11-23T17:00:00+07:00",
        ),
        # An explicit offset is honoured: 03:00Z is 10:00 in Hà Nội.
        (["--from", "2025-01-20T03:00:00+00:00", "--days", "15"], "2025-02-17T17:00:00+07:00"),
        (["--from", "2026-11-20T10:00", "--calendar-days", "15"], "2026-12-07T17:00:00+07:00"),
    ],
)
def test_deadline_prints_the_appointment(args: list[str], expected: str) -> None:
    result = runner.invoke(app, ["deadline", *args])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "yesterday", "--days", "3"], "không phải ngày giờ ISO 8601"),
        (["--from", "2026-01-05T10:00"], "cần đúng một trong"),
        (["--from", "2026-01-05T10:00", "--days", "2", "--hours", "3"], "cần đúng một trong"),
        (["--from", "2026-01-05T10:00", "--days", "0"], "phải lớn hơn 0"),
        (["--from", "2026-01-05T10:00", "--hours", "3", "--cutoff", "25:00"], "không phải giờ"),
    ],
)
def test_deadline_refuses_bad_input_with_exit_code_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["deadline", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_calendar_lists_days_off_and_make_up_saturdays() -> None:
    result = runner.invoke(app, ["calendar", "2026"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(line.startswith("22/08/2026 T7 làm bù") for line in lines)
    assert any(line.startswith("31/08/2026 T2 nghỉ") for line in lines)
    assert any(line.startswith("17/02/2026 T3 nghỉ") for line in lines)


def test_procedures_list_and_show() -> None:
    listed = runner.invoke(app, ["procedures", "list"])
    assert listed.exit_code == 0
    assert "3.000333" in listed.stdout and "10 ngày làm việc" in listed.stdout
    shown = runner.invoke(app, ["procedures", "show", "2.000635"])
    assert shown.exit_code == 0 and '"receipt_cutoff": "15:00:00"' in shown.stdout
    missing = runner.invoke(app, ["procedures", "show", "9.999999"])
    assert missing.exit_code == 1 and "không có thủ tục 9.999999" in missing.output


def test_procedures_validate_names_file_and_field(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(REPO_ROOT / "procedures", catalog)
    ok = runner.invoke(app, ["procedures", "validate", str(catalog)])
    assert ok.exit_code == 0 and ok.stdout.startswith("ok:")
    broken = catalog / "3.000333-v1.yaml"
    broken.write_text(
        broken.read_text(encoding="utf-8").replace("kind: approval", "kind: approvel"),
        encoding="utf-8",
    )
    bad = runner.invoke(app, ["procedures", "validate", str(catalog)])
    assert bad.exit_code == 1
    assert "3.000333-v1.yaml: steps.3.kind" in bad.output


def test_token_prints_only_a_token_that_the_api_accepts() -> None:
    from api.auth import TokenVerifier
    from infra.settings import get_settings

    result = runner.invoke(
        app, ["token", "--role", "intake_officer", "--agency", "000.00.01.H99", "--sub", "tnhs-01"]
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert "\n" not in token and token.count(".") == 2
    principal = TokenVerifier.from_settings(get_settings()).verify(token)
    assert (principal.sub, principal.agency) == ("tnhs-01", "000.00.01.H99")
    assert [r.value for r in principal.roles] == ["intake_officer"]


def test_token_refuses_an_officer_without_agency_and_an_unknown_role() -> None:
    no_agency = runner.invoke(app, ["token", "--role", "leader", "--sub", "x"])
    assert no_agency.exit_code == 2 and "agency" in no_agency.output
    unknown = runner.invoke(app, ["token", "--role", "mayor", "--sub", "x"])
    assert unknown.exit_code == 2 and "mayor" in unknown.output


def test_pki_init_then_verify_a_sealed_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`motcua pki init` makes the development CA; `motcua verify` accepts a document
    it signed (exit 0), refuses the same file with one byte changed (exit 1), and says
    what is wrong when it cannot run (exit 2)."""
    from fpdf import FPDF

    from infra.settings import get_settings
    from signatures.signing import KeyStore, sign_pdf

    def state_dir(path: Path) -> None:
        monkeypatch.setenv("MOTCUA_STATE_DIR", str(path))
        get_settings.cache_clear()  # the CLI reads settings once per process

    state_dir(tmp_path)
    result = runner.invoke(app, ["pki", "init"])
    assert result.exit_code == 0, result.output
    manifest = tmp_path / "pki" / "keys.yaml"
    assert manifest.is_file() and f"{tmp_path / 'pki' / 'root.pem'}" in result.output
    keys = KeyStore.load(manifest)
    assert keys.signer_identity("ca-ky-01") is not None  # the demo signer has a certificate

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Giay xac nhan")
    seal = keys.seal("000.00.01.H99", agency_name="Trung tâm Phục vụ hành chính công tỉnh")
    signed = sign_pdf(
        bytes(pdf.output()), seal, field_name="DauCoQuan", reason="thử", location="H99"
    )
    good = tmp_path / "good.pdf"
    good.write_bytes(signed)
    result = runner.invoke(app, ["verify", str(good), "--offline"])
    assert result.exit_code == 0, result.output
    assert "VALID" in result.output and "000.00.01.H99" in result.output

    offset = signed.index(b"stream") + 30
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(signed[:offset] + bytes([signed[offset] ^ 1]) + signed[offset + 1 :])
    result = runner.invoke(app, ["verify", str(bad), "--offline", "--json"])
    assert result.exit_code == 1
    assert '"valid": false' in result.output and "đã bị sửa" in result.output

    # Checked against the read model too: a file motcua never issued is not valid.
    result = runner.invoke(app, ["verify", str(good)])
    assert result.exit_code == 1 and "không phải văn bản do motcua cấp" in result.output

    state_dir(tmp_path / "empty")
    result = runner.invoke(app, ["verify", str(good)])
    assert result.exit_code == 2 and "motcua pki init" in result.output
    result = runner.invoke(app, ["verify", str(tmp_path / "missing.pdf")])
    assert result.exit_code == 2
    monkeypatch.delenv("MOTCUA_STATE_DIR")
    get_settings.cache_clear()
