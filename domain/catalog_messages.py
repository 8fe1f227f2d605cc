"""What `motcua procedures validate` (and every catalog load) says about a wrong catalog,
in Vietnamese and English (domain/i18n.py). The validators of domain/catalog.py raise
`CatalogProblem`; `CatalogError` keeps each problem as a `Text` and renders it in
the reader's language (Vietnamese unless English is asked for)."""

from __future__ import annotations

from typing import Any

from domain.i18n import Catalogue, Text

T = Catalogue(
    {
        # where: the file and field; problem: what is wrong there
        "at": ("{where}: {reason}", "{where}: {reason}"),
        "at_whole": ("{source}: {reason}", "{source}: (document): {reason}"),
        "procedure": ("thủ tục {code} v{version}", "procedure {code} v{version}"),
        "agency_code": (
            "'{value}' không phải mã định danh điện tử của cơ quan (dạng 000.45.30.H99)",
            "'{value}' is not an agency electronic identifier like 000.45.30.H99",
        ),
        "slug": (
            "'{value}' phải viết thường, chỉ gồm chữ cái, chữ số và dấu _",
            "'{value}' must be a lowercase slug (letters, digits, _)",
        ),
        "handoff_agency": (
            "agency: bước chuyển hồ sơ ghi cơ quan nhận (cơ quan phải xác nhận đã nhận), "
            "không phải trung tâm gửi",
            "agency: a handoff step names the receiving agency (who must acknowledge), not "
            "the centre that sends it",
        ),
        "linked_no_children": (
            "children: bước liên thông phải có ít nhất một thủ tục con",
            "children: a linked step names at least one sub-procedure",
        ),
        "children_not_linked": (
            "children: chỉ bước liên thông mới có thủ tục con",
            "children: only a linked step has sub-procedures",
        ),
        "children_after": (
            "children: {procedure} chờ {after}, không phải các thủ tục con đứng trước",
            "children: {procedure} waits for {after}, not earlier children",
        ),
        "deemed_consent": (
            "deemed_consent: chỉ bước lấy ý kiến mới được coi là đã đồng ý khi quá hạn",
            "deemed_consent: only a consultation can be deemed agreed",
        ),
        "role_kind": (
            "vai trò '{role}' không được đảm nhận bước loại {kind} (được phép: {allowed})",
            "role '{role}' cannot own a {kind} step (allowed: {allowed})",
        ),
        "unknown_source": (
            "không có nguồn dữ liệu {source}: dùng applicant.<trường>, dossier.<trường>, "
            "result.<number|date|decision_text>, finding.<thao tác>.<khóa> hoặc text",
            "unknown source {source}: applicant.<field>, dossier.<field>, "
            "result.<number|date|decision_text>, finding.<action>.<key> or text",
        ),
        "procedure_code": (
            "'{value}' không phải mã thủ tục hành chính quốc gia (dạng 1.009994)",
            "'{value}' is not a national procedure code like 1.009994",
        ),
        "valid_to": ("valid_to trước valid_from", "valid_to is before valid_from"),
        "own_successor": (
            "successor: một cơ quan không thể kế thừa chính mình",
            "successor: an agency does not succeed itself",
        ),
        "effective_to": (
            "effective_to trước effective_from",
            "effective_to is before effective_from",
        ),
        "first_intake": (
            "steps: bước đầu tiên phải là bước tiếp nhận",
            "steps: the first step must be an intake step",
        ),
        "last_return": (
            "steps: bước cuối cùng phải là bước trả kết quả",
            "steps: the last step must be a return step",
        ),
        "duplicate_steps": (
            "steps: trùng mã bước {ids}",
            "steps: duplicate step ids {ids}",
        ),
        "duplicate_kinds": (
            "documents: trùng loại thành phần hồ sơ {kinds}",
            "documents: duplicate component kinds {kinds}",
        ),
        "needs_approval": (
            "steps: thủ tục cần một bước phê duyệt (ra quyết định) hoặc một bước liên thông",
            "steps: a procedure needs an approval step (the decision) or a linked step",
        ),
        "budgets": (
            "steps: tổng thời gian các bước là {total} ngày, vượt thời hạn giải quyết {statutory}",
            "steps: budgets add up to {total} days, beyond the statutory time of {statutory}",
        ),
        "on_the_spot_handoff": (
            "steps: thủ tục giải quyết ngay không có bước chuyển hồ sơ ({handoffs})",
            "steps: an on-the-spot procedure has no handoff ({handoffs})",
        ),
        "unknown_agency": (
            "{field}: không có cơ quan {agency}",
            "{field}: unknown agency {agency}",
        ),
        "unknown_procedure": ("không có thủ tục {code}", "unknown procedure {code}"),
        "nested_linked": (
            "{code} bản thân là một nhóm thủ tục liên thông",
            "{code} is itself a linked group",
        ),
        "duplicate_versions": (
            "thủ tục {code}: trùng số phiên bản {versions}",
            "procedure {code}: duplicate version numbers {versions}",
        ),
        "missing_file": ("{path}: không có tệp này", "{path}: missing"),
        "not_yaml": (
            "{path}: không phải YAML hợp lệ: {error}",
            "{path}: not valid YAML: {error}",
        ),
    },
    "catalog",
)


class CatalogProblem(ValueError):
    """What a catalog validator found: `text` in either language for the reader; its own
    str() is the English (what pydantic's report and the logs carry)."""

    def __init__(self, key: str, /, **params: Any) -> None:
        self.text: Text = T(key, **params)
        super().__init__(self.text.render("en"))
