"""What pydantic's checks say, in Vietnamese and English (domain/i18n.py): one sentence per
error type, the one mapping shared by the API's 422 (api/validation.py), the catalog's
problems (domain/catalog.py) and the settings' errors at start (infra/settings.py).

A validator of ours raises `Invalid` with a `Text` (or any ValueError carrying one as
`.text` or as its first argument); pydantic keeps the exception in the error's ctx, and
`explain` / `error_text` render that text rather than a sentence for the error's type."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from domain.i18n import DEFAULT_LANG, Catalogue, Lang, Text

# pydantic-core error type -> (Vietnamese, English). Parameters are the error's `ctx`.
V = Catalogue(
    {
        "missing": ("bắt buộc phải có", "Field required"),
        "extra_forbidden": ("trường này không được phép", "Extra inputs are not permitted"),
        "string_type": ("phải là chuỗi ký tự", "Input should be a valid string"),
        "string_too_short": (
            "phải có ít nhất {min_length} ký tự",
            "String should have at least {min_length} characters",
        ),
        "string_too_long": (
            "chỉ được có tối đa {max_length} ký tự",
            "String should have at most {max_length} characters",
        ),
        "string_pattern_mismatch": (
            "không đúng định dạng (mẫu {pattern})",
            "String should match pattern '{pattern}'",
        ),
        "int_type": ("phải là số nguyên", "Input should be a valid integer"),
        "int_parsing": ("phải là số nguyên", "Input should be a valid integer"),
        "int_from_float": ("phải là số nguyên", "Input should be a valid integer"),
        "float_type": ("phải là số", "Input should be a valid number"),
        "float_parsing": ("phải là số", "Input should be a valid number"),
        "bool_type": ("phải là true hoặc false", "Input should be a valid boolean"),
        "bool_parsing": ("phải là true hoặc false", "Input should be a valid boolean"),
        "greater_than": ("phải lớn hơn {gt}", "Input should be greater than {gt}"),
        "greater_than_equal": (
            "phải lớn hơn hoặc bằng {ge}",
            "Input should be greater than or equal to {ge}",
        ),
        "less_than": ("phải nhỏ hơn {lt}", "Input should be less than {lt}"),
        "less_than_equal": (
            "phải nhỏ hơn hoặc bằng {le}",
            "Input should be less than or equal to {le}",
        ),
        "too_short": (
            "phải có ít nhất {min_length} phần tử",
            "should have at least {min_length} items",
        ),
        "too_long": (
            "chỉ được có tối đa {max_length} phần tử",
            "should have at most {max_length} items",
        ),
        "list_type": ("phải là một danh sách", "Input should be a valid list"),
        "dict_type": (
            "phải là một đối tượng (các cặp khóa: giá trị)",
            "Input should be a valid dictionary",
        ),
        "model_type": (
            "phải là một đối tượng (các cặp khóa: giá trị)",
            "Input should be a valid dictionary",
        ),
        "model_attributes_type": (
            "phải là một đối tượng (các cặp khóa: giá trị)",
            "Input should be a valid dictionary",
        ),
        "enum": ("phải là một trong: {expected}", "Input should be one of: {expected}"),
        "literal_error": ("phải là một trong: {expected}", "Input should be one of: {expected}"),
        "date_type": ("phải là một ngày dạng YYYY-MM-DD", "Input should be a valid date"),
        "date_parsing": (
            "phải là một ngày dạng YYYY-MM-DD",
            "Input should be a valid date in the format YYYY-MM-DD",
        ),
        "date_from_datetime_parsing": (
            "phải là một ngày dạng YYYY-MM-DD",
            "Input should be a valid date",
        ),
        "datetime_type": ("phải là một thời điểm", "Input should be a valid datetime"),
        "datetime_parsing": (
            "phải là một thời điểm theo ISO 8601 (ví dụ 2026-12-15T09:00:00+07:00)",
            "Input should be a valid datetime",
        ),
        "datetime_from_date_parsing": (
            "phải là một thời điểm theo ISO 8601 (ví dụ 2026-12-15T09:00:00+07:00)",
            "Input should be a valid datetime",
        ),
        "timezone_aware": ("phải kèm múi giờ", "Input should have timezone info"),
        "json_invalid": ("không phải JSON hợp lệ", "Invalid JSON"),
        "json_type": ("phải là chuỗi JSON", "JSON input should be string, bytes or bytearray"),
        "uuid_parsing": ("phải là một UUID", "Input should be a valid UUID"),
        "url_parsing": ("phải là một URL", "Input should be a valid URL"),
        "url_scheme": (
            "URL phải có một trong các giao thức: {expected_schemes}",
            "URL scheme should be {expected_schemes}",
        ),
        "multiple_of": (
            "phải là bội số của {multiple_of}",
            "Input should be a multiple of {multiple_of}",
        ),
        "union_tag_invalid": ("loại không hợp lệ", "Input tag does not match any expected tags"),
        "value_error": ("giá trị không hợp lệ", "Value error"),
        # a validator's own words, outside every catalogue: as they are, after this
        "value_said": ("giá trị không hợp lệ: {message}", "invalid value: {message}"),
        "other": ("giá trị không hợp lệ ({type})", "invalid value ({type})"),
    },
    "validation",
)


class Invalid(ValueError):
    """A validator's refusal: `text` in either language; str() is the Vietnamese (what
    pydantic's own message and a log line carry)."""

    def __init__(self, text: Text) -> None:
        self.text = text
        super().__init__(str(text))


def own_text(err: Mapping[str, Any]) -> Text | None:
    """The text a validator of ours raised the error with (None for pydantic's own)."""
    cause = dict(err.get("ctx") or {}).get("error")
    if not isinstance(cause, Exception):
        return None
    text = getattr(cause, "text", None)
    if isinstance(text, Text):
        return text
    if cause.args and isinstance(cause.args[0], Text):
        return cause.args[0]
    return None


def _message(err: Mapping[str, Any]) -> str:
    return str(err.get("msg", "")).removeprefix("Value error, ")


def _param(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # "phải lớn hơn 0", not "0.0"
    # pydantic lists the choices as "'a', 'b' or 'c'": as a list, in either language
    return str(value).replace(" or ", ", ")


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def error_text(err: Mapping[str, Any]) -> Text:
    """One pydantic error as a text to render later in either language: a validator's own
    text, else the sentence for its type (with its limits: ge, max_length, expected...),
    else that the value is invalid, naming the type."""
    text = own_text(err)
    if text is not None:
        return text
    kind = str(err.get("type", ""))
    if kind == "value_error":
        message = _message(err)
        return V("value_said", message=message) if message else V("value_error")
    key = f"{V.prefix}.{kind}"
    if key not in V.entries:
        return V("other", type=kind)
    params = {k: _param(v) for k, v in dict(err.get("ctx") or {}).items() if k != "error"}
    vi, en = V.entries[key]
    if not (_fields(vi) | _fields(en)) <= set(params):  # a context it does not expect
        return V("other", type=kind)
    return V(kind, **params)


def explain(err: Mapping[str, Any], lang: Lang = DEFAULT_LANG) -> str:
    """One pydantic error's sentence in `lang`: a validator's own text; in English,
    pydantic's own message; a validator's plain message (outside every catalogue) as it is;
    else the sentence for its type."""
    text = own_text(err)
    if text is not None:
        return text.render(lang)
    message = _message(err)
    if message and (lang == "en" or err.get("type") == "value_error"):
        return message
    return error_text(err).render(lang)


def text_of(exc: BaseException) -> Text | str:
    """What an exception says: its text when it carries one (to render in the reader's
    language), else its own words."""
    text = getattr(exc, "text", None)
    if isinstance(text, Text):
        return text
    if exc.args and isinstance(exc.args[0], Text):
        return exc.args[0]
    return str(exc)
