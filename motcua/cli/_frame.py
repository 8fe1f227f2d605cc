"""The frame of `motcua --help` in Vietnamese: the words Typer prints around our own help
texts ("Usage:", the "Options", "Commands" and "Arguments" panels, `--help`'s own line,
"[default: ...]", the error panel and its message, and the usage line's "[OPTIONS]
COMMAND [ARGS]...").

Typer has no per-application setting for them. Its rich help reads module constants of
`typer.rich_utils` at each render, the usage line comes from the help formatter of its
vendored Click (`typer._click`), and `--help` is made with a fixed English help text: each
is set here once, when the CLI is imported (only the CLI imports this module). The usage
placeholders are Typer's own parameters, which every `typer.Typer(...)` of the CLI passes.
tests/cli/test_cli_language.py fails if a Typer upgrade brings an English word back.
"""

from __future__ import annotations

import re
from typing import Any

import typer.core
import typer.rich_utils as rich
from pydantic import ValidationError
from typer._click.core import Context
from typer._click.exceptions import ClickException
from typer._click.formatting import HelpFormatter

from domain.validation import explain

USAGE = "Cách dùng: "
# The usage line's placeholders: every typer.Typer(...) of the CLI passes them.
OPTIONS_METAVAR = "[TÙY CHỌN]"
SUBCOMMAND_METAVAR = "LỆNH [ĐỐI SỐ]..."
HELP_OPTION = "Hiện hướng dẫn này rồi thoát."

PANELS = {
    "ARGUMENTS_PANEL_TITLE": "Đối số",
    "OPTIONS_PANEL_TITLE": "Tùy chọn",
    "COMMANDS_PANEL_TITLE": "Lệnh",
    "ERRORS_PANEL_TITLE": "Lỗi",
    "ABORTED_TEXT": "Đã hủy.",
    "RICH_HELP": "Xem hướng dẫn: [blue]'{command_path} {help_option}'[/]",
    "DEFAULT_STRING": "[mặc định: {}]",
    "ENVVAR_STRING": "[biến môi trường: {}]",
    "REQUIRED_LONG_STRING": "[bắt buộc]",
    "DEPRECATED_STRING": "(không còn dùng) ",
}


KINDS = {"argument": "đối số", "option": "tùy chọn", "parameter": "tham số"}
# Click's usage errors, as its vendored copy words them, and their Vietnamese.
USAGE_ERRORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p, re.S), vi)
    for p, vi in (
        (
            r"Invalid value for (?P<hint>.+?): (?P<reason>.*)",
            "giá trị không hợp lệ cho {hint}: {reason}",
        ),
        (r"Invalid value: (?P<reason>.*)", "giá trị không hợp lệ: {reason}"),
        (
            r"Missing (?P<kind>argument|option|parameter) (?P<hint>.+?)\.(?: Choose from:(?P<choices>.*))?",
            "thiếu {kind} {hint}{choices}",
        ),
        (
            r"No such option: (?P<name>\S+) \(Possible options: (?P<names>.*)\)",
            "không có tùy chọn {name} (có thể là: {names})",
        ),
        (r"No such option: (?P<name>.*)", "không có tùy chọn {name}"),
        (r"No such command (?P<name>.*)\.", "không có lệnh {name}"),
        (r"Missing command\.", "thiếu lệnh"),
        (r"Got unexpected extra argument\(s\) \((?P<args>.*)\)", "thừa đối số: {args}"),
        (r"Option (?P<name>.*) requires an argument\.", "tùy chọn {name} cần một giá trị"),
        (r"Option (?P<name>.*) requires (?P<n>\d+) arguments\.", "tùy chọn {name} cần {n} giá trị"),
        (r"Option (?P<name>.*) does not take a value\.", "tùy chọn {name} không nhận giá trị"),
        (r"Argument (?P<name>.*) takes (?P<n>\d+) values\.", "đối số {name} cần {n} giá trị"),
    )
]

# Typer's own reasons for refusing a value (pydantic's are told by domain.validation).
REASONS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"(?P<value>.+) is not one of (?P<choices>.+)\.", re.S),
        "{value} không phải một trong: {choices}",
    ),
    (
        re.compile(r"Value (?P<value>.+) is not a valid (?P<label>.+)\.", re.S),
        "{value} không phải {label} hợp lệ",
    ),
]


def _reason(text: str) -> str:
    for pattern, vietnamese in REASONS:
        found = pattern.fullmatch(text)
        if found is not None:
            return vietnamese.format_map(found.groupdict())
    return text


def usage_error_text(exc: ClickException) -> str:
    """A usage error's message in Vietnamese; one Click words otherwise stays as it is.
    A value Typer's pydantic coercion refused is told by the project's own sentences."""
    message = exc.format_message()
    for pattern, vietnamese in USAGE_ERRORS:
        found = pattern.fullmatch(message)
        if found is None:
            continue
        parts = found.groupdict()
        if "reason" in parts:
            cause = exc.__cause__
            reasons = (
                [explain(e) for e in cause.errors()]
                if isinstance(cause, ValidationError)
                else [parts["reason"]]
            )
            parts["reason"] = "; ".join(_reason(r) for r in reasons)
        if "kind" in parts:
            parts["kind"] = KINDS[parts["kind"]]
        if parts.get("choices"):
            parts["choices"] = ": chọn một trong " + ", ".join(
                parts["choices"].replace(",", " ").split()
            )
        return vietnamese.format_map({k: v or "" for k, v in parts.items()})
    return message


class VietnameseHelpFormatter(HelpFormatter):
    """Click's formatter with the usage line's prefix in Vietnamese."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, USAGE if prefix is None else prefix)


def _vietnamese_help_option(base: Any) -> Any:
    def get_help_option(self: Any, ctx: Context) -> Any:
        option = base(self, ctx)
        if option is not None:
            option.help = HELP_OPTION
        return option

    return get_help_option


def _vietnamese_error(base: Any) -> Any:
    def rich_format_error(self: ClickException) -> None:
        message = usage_error_text(self)
        self.format_message = lambda: message  # type: ignore[method-assign]
        base(self)

    rich_format_error.vietnamese = True  # type: ignore[attr-defined]
    return rich_format_error


def speak_vietnamese() -> None:
    """Put the frame's words in Vietnamese (idempotent)."""
    for name, text in PANELS.items():
        setattr(rich, name, text)
    Context.formatter_class = VietnameseHelpFormatter
    # The usage line's prefix keeps its colour.
    usage = rf"(?P<usage>{USAGE})"
    if usage not in rich.OptionHighlighter.highlights:
        rich.OptionHighlighter.highlights = [*rich.OptionHighlighter.highlights, usage]
    if not getattr(rich.rich_format_error, "vietnamese", False):
        rich.rich_format_error = _vietnamese_error(rich.rich_format_error)
    for cls in (typer.core.TyperCommand, typer.core.TyperGroup):
        if "get_help_option" not in vars(cls):
            cls.get_help_option = _vietnamese_help_option(cls.get_help_option)  # type: ignore[method-assign]
