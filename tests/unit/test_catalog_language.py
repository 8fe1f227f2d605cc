"""A wrong catalog is told to people in Vietnamese, in English on request:
`motcua procedures validate` (and `--lang en`), naming each file and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domain.catalog import CatalogError, load_catalog
from motcua.cli import app

REPO_ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """The shipped catalog with four mistakes: a step kind misspelt, a result field from a
    source that does not exist, a key the schema does not know, an unknown agency."""
    catalog = tmp_path / "catalog"
    shutil.copytree(REPO_ROOT / "procedures", catalog)
    lltp = catalog / "3.000333-v1.yaml"
    lltp.write_text(
        lltp.read_text(encoding="utf-8")
        .replace("kind: approval", "kind: approvel")
        .replace("from: applicant.address", "from: applicant.birthday"),
        encoding="utf-8",
    )
    hkd = catalog / "1.001612-v1.yaml"
    hkd.write_text(
        hkd.read_text(encoding="utf-8").replace("\nfees:", "\nghi_chu: thừa\nfees:", 1),
        encoding="utf-8",
    )
    permit = catalog / "1.009994-v1.yaml"
    text = permit.read_text(encoding="utf-8")
    start = text.index("competent_agency:")
    end = text.index("\n", start)
    permit.write_text(
        text[:start] + 'competent_agency: "000.00.99.H99"' + text[end:], encoding="utf-8"
    )
    return catalog


def test_validate_says_what_is_wrong_in_vietnamese_by_default(broken: Path) -> None:
    result = runner.invoke(app, ["procedures", "validate", str(broken)])
    assert result.exit_code == 1
    out = result.output
    assert "3.000333-v1.yaml: steps.3.kind: phải là một trong: 'intake'" in out
    assert (
        "3.000333-v1.yaml: result.template.fields.2.from: không có nguồn dữ liệu "
        "'applicant.birthday'"
    ) in out
    assert "1.001612-v1.yaml: ghi_chu: trường này không được phép" in out
    # No English reaches the reader.
    for english in ("Input should", "Extra inputs", "unknown source", "not permitted"):
        assert english not in out, english


def test_validate_in_english_on_request(broken: Path) -> None:
    result = runner.invoke(app, ["procedures", "validate", str(broken), "--lang", "en"])
    assert result.exit_code == 1
    out = result.output
    assert "3.000333-v1.yaml: steps.3.kind: Input should be one of: 'intake'" in out
    assert "result.template.fields.2.from: unknown source 'applicant.birthday'" in out
    assert "1.001612-v1.yaml: ghi_chu: Extra inputs are not permitted" in out
    assert "không" not in out


def test_cross_file_problems_in_both_languages(broken: Path) -> None:
    # Only the unknown agency left: the files themselves are valid.
    for name in ("3.000333-v1.yaml", "1.001612-v1.yaml"):
        shutil.copy(REPO_ROOT / "procedures" / name, broken / name)
    with pytest.raises(CatalogError) as err:
        load_catalog(broken)
    assert str(err.value) == (
        "thủ tục 1.009994 v1: competent_agency: không có cơ quan 000.00.99.H99"
    )
    assert err.value.render("en") == (
        "procedure 1.009994 v1: competent_agency: unknown agency 000.00.99.H99"
    )


def test_every_check_of_an_agency_is_told_in_vietnamese() -> None:
    """The catalog's problems come from the one mapping of pydantic's checks the API and
    the settings share (domain/validation.py): a type the catalog used to leave as
    "giá trị không hợp lệ (<type>)" has its sentence, and the agency's own checks speak
    Vietnamese too."""
    from pydantic import ValidationError

    from domain.catalog import Agency, describe_errors

    with pytest.raises(ValidationError) as err:
        Agency.model_validate(
            {
                "code": "000.00.50.H99",
                "name": "Thử",
                "kind": "other",
                "level": "district",
                "valid_from": "2025-07-01",
                "valid_to": "2025-01-01",
            }
        )
    assert describe_errors(err.value, "agencies.yaml") == [
        "agencies.yaml: level: phải là một trong: 'province', 'commune', 'central'"
    ]
    with pytest.raises(ValidationError) as err:
        Agency.model_validate(
            {
                "code": "000.00.50.H99",
                "name": "Thử",
                "kind": "other",
                "valid_from": "2025-07-01",
                "valid_to": "2025-01-01",
            }
        )
    assert describe_errors(err.value, "agencies.yaml") == [
        "agencies.yaml: valid_to trước valid_from"
    ]
    with pytest.raises(ValidationError) as err:
        Agency.model_validate(
            {"code": "000.00.50.H99", "name": "Thử", "kind": "other", "successor": "000.00.50.H99"}
        )
    assert describe_errors(err.value, "agencies.yaml") == [
        "agencies.yaml: successor: một cơ quan không thể kế thừa chính mình"
    ]
