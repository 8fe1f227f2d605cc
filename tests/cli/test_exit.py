"""How the `motcua` console script ends once a command has used Temporal.

The Temporal client's runtime threads can crash the interpreter's teardown (SIGABRT,
temporalio/sdk-python#300; CI saw it after `motcua agencies merge`). The root command
therefore leaves without that teardown, and must still give the shell the command's own
exit code, every line it printed, and what `atexit` had to do.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import atexit, sys
    from pathlib import Path

    import typer

    from motcua.cli._common import _Motcua

    app = _Motcua()

    @app.command()
    def run(code: int, marker: Path, temporal: bool = True) -> None:
        if temporal:
            import temporalio.bridge.temporal_sdk_bridge  # noqa: F401
        atexit.register(marker.write_text, "atexit ran")
        sys.stdout.write("đã chuyển 3 hồ sơ")  # no newline: still buffered at the end
        sys.stderr.write("lỗi: thử")
        if code == 99:
            raise SystemExit("hỏng: một thông điệp")
        raise typer.Exit(code)

    app()
    """
)


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "cli.py"
    script.write_text(SCRIPT, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("code", [0, 1, 2])
@pytest.mark.parametrize("temporal", ["--temporal", "--no-temporal"])
def test_the_command_s_exit_code_output_and_atexit_survive(
    tmp_path: Path, code: int, temporal: str
) -> None:
    marker = tmp_path / "marker"
    done = _run(tmp_path, str(code), str(marker), temporal)
    assert done.returncode == code, done.stderr
    assert done.stdout == "đã chuyển 3 hồ sơ"
    assert done.stderr == "lỗi: thử"
    assert marker.read_text() == "atexit ran"


def test_a_message_exit_prints_it_and_gives_1(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    done = _run(tmp_path, "99", str(marker))
    assert done.returncode == 1
    assert done.stderr == "lỗi: thửhỏng: một thông điệp\n"
    assert marker.read_text() == "atexit ran"


def test_a_usage_error_keeps_click_s_code_2(tmp_path: Path) -> None:
    done = _run(tmp_path, "không-phải-số", str(tmp_path / "marker"))
    assert done.returncode == 2
    assert "Cách dùng:" in done.stderr and "Lỗi" in done.stderr
