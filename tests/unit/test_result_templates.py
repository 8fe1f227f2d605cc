"""Each procedure's result holds what its template in the catalog says (procedures/*.yaml,
`result.template`): the applicant's particulars, what a step concluded (the appraisal's
opinion), the result's number and date, and its closing lines. The judicial record
certificate (3.000333) states the person's particulars and "Án tích: Không có án tích" from
the specialist's appraisal, not only the leader's approval note; and a templated result,
signed and sealed, is still accepted by pyHanko's own validator."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from pypdf import PdfReader

from activities.forms import ResultInfo, render_result
from domain.catalog import Procedure, ResultTemplate, Role, load_catalog
from domain.dossier import DossierView
from domain.findings import StepFinding
from signatures import dev_ca
from signatures.signing import KeyStore
from tests.unit.test_pades import _nss_db, _pyhanko, _sign, ca  # noqa: F401  (the CA fixture)
from tests.unit.test_pdf import AGENCY, APPLICANT, ISSUERS, T0, make_view

CATALOG = load_catalog(Path(__file__).resolve().parents[2] / "procedures")
ISSUED = T0 + timedelta(days=10)  # 12/11/2026
OPINION = "Không có án tích"
APPROVAL = "Đồng ý cấp"


def procedure(code: str) -> Procedure:
    return CATALOG.procedures[code][-1]


def templated() -> list[str]:
    return sorted(c for c in CATALOG.procedures if procedure(c).result_spec.template is not None)


def view_of(p: Procedure, opinion: str = OPINION) -> DossierView:
    appraisal = StepFinding(
        event_id="ev-appraise",
        kind="appraise",
        step_id="tham_dinh",
        at=T0 + timedelta(days=3),
        actor_id="chuyen-vien-01",
        role=Role.SPECIALIST,
        data={"opinion": opinion, "recommendation": "grant"},
    )
    return make_view(procedure_code=p.code, procedure_name=p.name, findings=[appraisal])


def issue(p: Procedure, opinion: str = OPINION) -> tuple[bytes, str]:
    spec = p.result_spec
    info = ResultInfo(
        number=f"15/{spec.number_suffix}",
        kind_title=spec.title,
        granted=True,
        decision_text=APPROVAL,
        reasons="",
        signer_name="Hoàng Văn Dũng",
        signer_title=spec.signer_title,
        signing_agency=AGENCY,
        legal_basis=list(p.legal_basis),
        template=spec.template,
    )
    doc = render_result(view_of(p, opinion), APPLICANT, info, ISSUERS, ISSUED)
    reader = PdfReader(io.BytesIO(doc.pdf))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    return doc.pdf, text


def in_order(phrase: str, text: str) -> bool:
    """Whether the words of `phrase` appear in `text` in order (others between them)."""
    words = iter(text.split())
    return all(any(w == word for w in words) for word in phrase.split())


def test_every_procedure_that_issues_a_result_has_a_template() -> None:
    issuing = [c for c in sorted(CATALOG.procedures) if procedure(c).issuing_step() is not None]
    assert issuing and [c for c in issuing if c not in templated()] == []


def test_the_judicial_record_states_the_person_and_the_appraisal() -> None:
    pdf, text = issue(procedure("3.000333"))
    assert "PHIẾU LÝ LỊCH TƯ PHÁP SỐ 1" in text and "Số: 15/LLTP" in text
    assert "CHỨNG NHẬN:" in text
    assert f"Họ và tên: {APPLICANT.name}" in text
    assert f"Số định danh cá nhân: {APPLICANT.id_number}" in text
    assert f"Nơi cư trú: {APPLICANT.address}" in text
    assert "Án tích: Không có án tích" in text  # the specialist's appraisal
    assert "Nội dung: Đồng ý cấp" not in text and APPROVAL not in text
    # its own legal basis, not the fee circular the procedure also cites
    assert "Căn cứ Luật Lý lịch tư pháp ngày 17 tháng 6 năm 2009;" in text
    assert "244/2016/TT-BTC" not in text
    assert f"được cấp theo yêu cầu của ông/bà {APPLICANT.name}./." in text
    assert "Hòa An, ngày 12 tháng 11 năm 2026" in text  # place name before the date
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1


def test_a_conviction_found_is_what_the_record_states() -> None:
    found = "Có 01 án tích: 06 tháng tù về tội trộm cắp tài sản, chưa được xóa án tích"
    _, text = issue(procedure("3.000333"), opinion=found)
    assert f"Án tích: {found}" in text and "Không có án tích" not in text


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            "1.009994",
            [
                "GIẤY PHÉP XÂY DỰNG",
                "CHO PHÉP:",
                f"Cấp cho: {APPLICANT.name}",
                f"Được phép xây dựng công trình: {APPROVAL}",
                f"Kết quả thẩm định hồ sơ thiết kế: {OPINION}",
                "trong thời hạn 12 tháng kể từ ngày cấp (12/11/2026)",
            ],
        ),
        (
            "1.001612",
            [
                "GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH",
                f"Chủ hộ kinh doanh: {APPLICANT.name}",
                f"Nội dung đăng ký: {APPROVAL}",
                "Mã số đăng ký: 15/GCN-HKD",
                "Ngày đăng ký: 12/11/2026",
                "Giấy chứng nhận này có hiệu lực kể từ ngày 12/11/2026.",
            ],
        ),
        (
            "9.000001",
            [
                "THẺ BẢO HIỂM Y TẾ",
                "đến hết ngày trẻ đủ 72 tháng tuổi",
            ],
        ),
    ],
)
def test_other_results_hold_their_templates_lines(code: str, expected: list[str]) -> None:
    _, text = issue(procedure(code))
    for line in expected:
        assert line in text, line


@pytest.mark.parametrize("code", templated())
def test_each_result_holds_every_field_of_its_template_on_one_page(code: str) -> None:
    p = procedure(code)
    template = p.result_spec.template
    assert template is not None
    pdf, text = issue(p)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1, "the result fits one page"
    assert template.heading in text
    for field in template.fields:
        # a long label wraps in its column, its lines interleaved with the value's
        assert in_order(f"{field.label}:", text), field.label
    assert "{" not in text and "}" not in text  # every placeholder filled
    assert text.count(f"Họ và tên: {APPLICANT.name}") <= 1


def test_the_catalog_refuses_a_template_naming_an_unknown_source() -> None:
    with pytest.raises(ValidationError, match=re.escape("unknown source 'applicant.birthday'")):
        ResultTemplate.model_validate(
            {"fields": [{"label": "Ngày sinh", "from": "applicant.birthday"}]}
        )
    with pytest.raises(ValidationError, match=re.escape("unknown source 'dossier.secret'")):
        ResultTemplate.model_validate(
            {"fields": [{"label": "Họ và tên", "from": "applicant.name"}],
             "closing": ["Cấp cho {dossier.secret}./."]}
        )  # fmt: skip


def test_a_refusal_keeps_its_decision_not_the_template() -> None:
    p = procedure("3.000333")
    info = ResultInfo(
        number="16/QĐ-TC",
        kind_title="QUYẾT ĐỊNH về việc từ chối giải quyết hồ sơ",
        granted=False,
        decision_text="",
        reasons="Người yêu cầu không thuộc trường hợp được cấp Phiếu số 1.",
        signer_name="Hoàng Văn Dũng",
        signer_title="GIÁM ĐỐC",
        signing_agency=AGENCY,
        legal_basis=list(p.legal_basis),
        template=p.result_spec.template,
    )
    doc = render_result(view_of(p), APPLICANT, info, ISSUERS, ISSUED)
    text = " ".join(PdfReader(io.BytesIO(doc.pdf)).pages[0].extract_text().split())
    assert "Án tích" not in text and "Điều 1. Từ chối giải quyết hồ sơ" in text


def _pdfsig(tmp_path: Path, root: Path, pdf: Path) -> list[str] | None:
    """pdfsig's report, one block per signature; None where pdfsig or certutil is missing
    (tests/unit/test_pades.py fails CI then)."""
    if not (shutil.which("pdfsig") and shutil.which("certutil")):
        return None
    (tmp_path / "nss").mkdir()
    db = _nss_db(tmp_path / "nss", root)
    assert db is not None
    result = subprocess.run(
        ["pdfsig", "-nssdir", db, str(pdf)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LANG": "C"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.split("Signature #")[1:]


def test_a_templated_result_signed_and_sealed_is_long_term_valid(
    ca: tuple[Path, int],  # noqa: F811
    tmp_path: Path,
) -> None:
    directory, port = ca
    pdf, _ = issue(procedure("3.000333"))
    keys = KeyStore.load(directory / "keys.yaml")
    path = tmp_path / "phieu-lltp.pdf"
    root = str(directory / "root.pem")
    with dev_ca.serving(directory, port=port) as server:
        signed = _sign(keys, _sign(keys, pdf, server.tsa_url, "ca-ky-01"), server.tsa_url, None)
        path.write_bytes(signed)
        online = _pyhanko(
            "validate", "--force-revinfo", "--trust-replace", "--trust", root, str(path)
        )
        poppler = _pdfsig(tmp_path, directory / "root.pem", path)
    assert online.returncode == 0, online.stdout + online.stderr
    intact = [line for line in online.stdout.splitlines() if ":INTACT:TRUSTED" in line]
    assert [line.split(":")[0] for line in intact] == ["ChuKyNguoiKy", "DauCoQuan"]
    if poppler is not None:  # poppler's pdfsig, where it and NSS's certutil are installed
        signatures = [b for b in poppler if "ETSI.CAdES.detached" in b]
        assert len(signatures) == 2, poppler
        for block in signatures:
            assert "Signature Validation: Signature is Valid." in block, block
    # the signed file still reads as the Phiếu
    text = " ".join(PdfReader(io.BytesIO(signed)).pages[0].extract_text().split())
    assert "Án tích: Không có án tích" in text
