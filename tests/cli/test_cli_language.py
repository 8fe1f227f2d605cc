"""The command line's help speaks Vietnamese, as everything an operator reads."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from motcua.cli import app

# A letter only Vietnamese writes: a help text without one is suspect.
VIETNAMESE = re.compile(
    r"[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]", re.I
)
# Help made of identifiers only, the same in any language.
IDENTIFIERS = {"centre | agency | agencies | all", "CSV thay cho JSON"}
# Typer's options of its own: --help is checked in the printed help below.
TYPER_OWN = {"help"}
# The frame Typer and Click print around our texts, in their English.
# A new typer.Typer(...) without options_metavar/subcommand_metavar (motcua/cli/_frame.py)
# brings back "[OPTIONS]" and "COMMAND [ARGS]...".
FRAME_ENGLISH = (
    "Usage:",
    "[OPTIONS]",
    "COMMAND [ARGS]",
    "Options",
    "Commands",
    "Arguments",
    "Show this message",
    "completion",
    "[default:",
    "[required]",
    "[env var:",
    "(deprecated)",
)


def test_every_command_and_option_is_described_in_vietnamese() -> None:
    """Every command's and option's own help text is Vietnamese."""
    english = []

    def walk(command: Any, path: str) -> None:
        if not VIETNAMESE.search(command.help or ""):
            english.append(f"{path}: {command.help!r}")
        for p in command.params:
            if p.name in TYPER_OWN:
                continue
            text = getattr(p, "help", None)
            if text and text not in IDENTIFIERS and not VIETNAMESE.search(text):
                english.append(f"{path} {p.name}: {text!r}")
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "motcua")
    assert english == []


def _paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found += _paths(sub, (*path, name))
    return found


def test_the_help_frame_is_vietnamese_too() -> None:
    """`motcua --help` and every command's, as printed: Typer's own words around our texts
    ("Usage:", the panel titles, --help's line, defaults) are Vietnamese as well, and shell
    completion is not offered."""
    runner = CliRunner()
    english = []
    paths = _paths(typer.main.get_command(app))
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], prog_name="motcua")
        assert result.exit_code == 0, (path, result.output)
        # The words as read, whatever the wrapping in the panels.
        text = " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())
        english += [(" ".join(path), w) for w in FRAME_ENGLISH if w in text]
        # the Vietnamese frame is there (not merely the English gone)
        assert f"Cách dùng: {' '.join(('motcua', *path))} [TÙY CHỌN]" in text, (path, text)
        assert "--help <bool> Hiện hướng dẫn này rồi thoát." in text, (path, text)
    assert english == []
    assert len(paths) > 40  # the whole tree was walked
    root = runner.invoke(app, ["--help"], prog_name="motcua").output
    assert "─ Tùy chọn ─" in root and "─ Lệnh ─" in root
    assert "motcua [TÙY CHỌN] LỆNH [ĐỐI SỐ]..." in root
    merge = runner.invoke(app, ["agencies", "merge", "--help"]).output
    assert "─ Đối số ─" in merge and "[bắt buộc]" in merge and "[mặc định: admin]" in merge


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["config", "--bogus"], "không có tùy chọn --bogus"),
        (["config", "--jso"], "không có tùy chọn --jso (có thể là: --json)"),
        (["nosuch"], "không có lệnh 'nosuch'"),
        (["agencies", "merge"], "thiếu đối số 'agency'"),
        (["index", "show"], "thiếu tùy chọn '--period'"),
        (["outbox", "list", "--limit"], "tùy chọn '--limit' cần một giá trị"),
        (["outbox", "list", "extra"], "thừa đối số: extra"),
        (
            ["outbox", "list", "--limit", "abc"],
            "giá trị không hợp lệ cho '--limit': phải là số nguyên",
        ),
        (
            ["outbox", "list", "--limit", "0"],
            "giá trị không hợp lệ cho '--limit': phải lớn hơn hoặc bằng 1",
        ),
        (
            ["index", "show", "--period", "2026-01", "--format", "xml"],
            "giá trị không hợp lệ cho '--format': 'xml' không phải một trong: 'text', 'json', "
            "'csv', 'late-csv'",
        ),
    ],
)
def test_a_usage_error_is_told_in_vietnamese(args: list[str], said: str) -> None:
    """What Click refuses before a command runs (exit 2): its sentence in Vietnamese."""
    result = CliRunner().invoke(app, args, prog_name="motcua")
    assert result.exit_code == 2, result.output
    text = " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())
    assert said in text, text
    for english in ("Invalid value", "Missing", "No such", "Got unexpected", "requires", "Input"):
        assert english not in text, text


def test_a_usage_error_is_framed_in_vietnamese() -> None:
    """A wrong option: the usage line, the hint and the panel title in Vietnamese."""
    result = CliRunner().invoke(app, ["config", "--bogus"], prog_name="motcua")
    assert result.exit_code == 2
    assert "Cách dùng: motcua config" in result.output
    assert "Xem hướng dẫn: 'motcua config --help'" in result.output
    assert "─ Lỗi ─" in result.output
    assert "Usage:" not in result.output and "Try " not in result.output
