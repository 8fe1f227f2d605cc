"""The catalog administrator's rules, pure: what is wrong with a version (every problem
with its field), and what a new version changes against the one it was drafted from, in
words an officer reads (steps by their id, components by kind, fees by name).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

from domain.calendar import Duration
from domain.catalog import (
    CENTRE,
    COMPETENT,
    Agency,
    Procedure,
    StepKind,
    describe_errors,
)

# The field names an officer reads, for the readable diff (the code's names stay beside).
LABELS: dict[str, str] = {
    "name": "Tên",
    "field": "Lĩnh vực",
    "level": "Cấp thực hiện",
    "competent_agency": "Cơ quan có thẩm quyền",
    "legal_basis": "Căn cứ pháp lý",
    "effective_from": "Ngày có hiệu lực",
    "effective_to": "Ngày hết hiệu lực",
    "statutory_time": "Thời hạn giải quyết",
    "receipt_cutoff": "Giờ chốt tiếp nhận",
    "on_the_spot": "Giải quyết tại chỗ (4/5 tại chỗ)",
    "steps": "Bước",
    "documents": "Thành phần hồ sơ",
    "fees": "Phí, lệ phí",
    "supplement_wait": "Thời hạn bổ sung hồ sơ",
    "max_extensions": "Số lần hẹn lại",
    "max_extension": "Thời gian gia hạn tối đa",
    "remote_area_extra": "Thời gian cộng thêm cho vùng sâu, vùng xa",
    "verification_time": "Thời hạn khi cần xác minh",
    "standalone": "Giải quyết độc lập",
    "result": "Kết quả",
    "retention": "Thời hạn lưu trữ",
    "notes": "Ghi chú",
    "budget": "thời hạn",
    "role": "vai trò",
    "agency": "cơ quan",
    "kind": "loại",
    "copies": "số bản",
    "original": "bản chính",
    "required": "bắt buộc",
    "source": "khai thác từ CSDL",
    "amount_vnd": "số tiền (đồng)",
    "children": "thủ tục liên thông",
    "pauses_clock": "dừng tính thời hạn",
}
# Lists whose items are matched by a key, not by position: a step inserted in the middle
# is one added step, not every later step changed.
KEYED_LISTS = {"steps": "id", "documents": "kind", "fees": "name", "children": "procedure"}
# What the version carries that no officer changes by hand.
NOT_COMPARED = {"version"}


def version_problems(
    definition: dict[str, Any],
    *,
    code: str,
    version: int,
    agencies: dict[str, Agency],
    procedures: dict[str, list[Procedure]],
) -> list[str]:
    """Every problem of a version, each naming its field ("steps.2.budget: ..."), as
    `motcua procedures validate` names them; [] when it may be published."""
    where = f"thủ tục {code} v{version}"
    problems: list[str] = []
    if definition.get("code") != code:
        problems.append(f"{where}: code: phải là {code} (không đổi mã trong một phiên bản mới)")
    if definition.get("version") != version:
        problems.append(f"{where}: version: phải là {version}")
    try:
        p = Procedure.model_validate(definition)
    except ValidationError as exc:
        return problems + describe_errors(exc, where)
    return problems + reference_problems(p, agencies, procedures)


def reference_problems(
    p: Procedure, agencies: dict[str, Agency], procedures: dict[str, list[Procedure]]
) -> list[str]:
    """What a version names that the catalog does not hold (agencies, sub-procedures): the
    checks `build_catalog` makes, for one version against the published catalog."""
    where = f"thủ tục {p.code} v{p.version}"
    problems = []
    if p.competent_agency not in agencies:
        problems.append(f"{where}: competent_agency: không có cơ quan {p.competent_agency}")
    for i, s in enumerate(p.steps):
        if s.agency not in (CENTRE, COMPETENT) and s.agency not in agencies:
            problems.append(f"{where}: steps.{i}.agency: không có cơ quan {s.agency}")
        for j, child in enumerate(s.children):
            at = f"{where}: steps.{i}.children.{j}"
            target = procedures.get(child.procedure)
            if not target:
                problems.append(f"{at}.procedure: không có thủ tục {child.procedure}")
            elif any(st.kind is StepKind.LINKED for st in target[-1].steps):
                problems.append(f"{at}.procedure: {child.procedure} cũng là một nhóm liên thông")
            if child.agency is not None and child.agency not in agencies:
                problems.append(f"{at}.agency: không có cơ quan {child.agency}")
    return problems


@dataclass(frozen=True)
class Change:
    path: str  # the field, as the code names it: steps[tham_dinh].budget
    label: str  # the same in words: Bước 'tham_dinh' › thời hạn
    before: str | None  # None: added
    after: str | None  # None: removed


def diff_versions(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """What `after` changes against `before` (two versions' JSON documents)."""
    out: list[Change] = []
    keys = [k for k in dict.fromkeys([*before, *after]) if k not in NOT_COMPARED]
    for k in keys:
        _diff(out, k, LABELS.get(k, k), k, before.get(k), after.get(k))
    return out


def _show(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"value", "unit"}:
        try:
            return Duration.model_validate(value).vi
        except ValueError:
            return f"{value['value']} {value['unit']}"
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    if value is None:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{LABELS.get(k, k)}: {_show(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_show(v) for v in value)
    return str(value)


def _diff(out: list[Change], key: str, label: str, path: str, a: Any, b: Any) -> None:
    if a == b:
        return
    if a is None or b is None:
        out.append(
            Change(path, label, None if a is None else _show(a), None if b is None else _show(b))
        )
        return
    if isinstance(a, dict) and isinstance(b, dict) and not {"value", "unit"} == set(a) == set(b):
        for k in dict.fromkeys([*a, *b]):
            _diff(out, k, f"{label} › {LABELS.get(k, k)}", f"{path}.{k}", a.get(k), b.get(k))
        return
    id_key = KEYED_LISTS.get(key)
    if (
        id_key
        and isinstance(a, list)
        and isinstance(b, list)
        and all(isinstance(x, dict) and id_key in x for x in [*a, *b])
    ):
        left = {x[id_key]: x for x in a}
        right = {x[id_key]: x for x in b}
        for k in dict.fromkeys([*left, *right]):
            item = right.get(k) or left[k]
            name = item.get("name") if id_key != "name" else None
            shown = f"{label} '{k}'" + (f" ({name})" if name else "")
            _diff(out, "", shown, f"{path}[{k}]", left.get(k), right.get(k))
        order_a = [k for k in left if k in right]
        order_b = [k for k in right if k in left]
        if order_a != order_b:
            out.append(
                Change(f"{path}.order", f"{label}: thứ tự", ", ".join(order_a), ", ".join(order_b))
            )
        return
    if isinstance(a, list) and isinstance(b, list) and all(isinstance(x, str) for x in [*a, *b]):
        for x in a:
            if x not in b:
                out.append(Change(path, label, x, None))
        for x in b:
            if x not in a:
                out.append(Change(path, label, None, x))
        return
    out.append(Change(path, label, _show(a), _show(b)))
