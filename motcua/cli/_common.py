"""What every command group shares: the root `app`, settings, the catalog, errors, dates."""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer

from domain.calendar import VIETNAM_TZ
from domain.catalog import CatalogError, load_catalog
from domain.i18n import DEFAULT_LANG, Lang
from infra.settings import Settings, SettingsError, get_settings
from motcua.cli._frame import OPTIONS_METAVAR, SUBCOMMAND_METAVAR, speak_vietnamese

speak_vietnamese()

# The Temporal client's native module; its runtime threads outlive the command.
_TEMPORAL_BRIDGE = "temporalio.bridge.temporal_sdk_bridge"


class _Motcua(typer.Typer):
    """The root command, which ends a process that used Temporal without the interpreter's
    teardown.

    The Temporal client's Rust runtime keeps threads that may call into Python while the
    interpreter finalizes; now and then the process then dies with "Fatal Python error:
    PyGILState_Release" and SIGABRT instead of the command's exit code (seen under load
    after `motcua agencies merge`; an open SDK bug, temporalio/sdk-python#300, with no
    close() for a client). Once the command is done, this flushes the output, runs what was
    registered with `atexit` (telemetry exporters), and leaves with the command's own code.
    Only the console script goes through here: tests calling `app` through CliRunner do not.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().__call__(*args, **kwargs)
        except SystemExit as exc:
            code = exc.code
        else:
            code = 0
        if _TEMPORAL_BRIDGE not in sys.modules:
            raise SystemExit(code)
        status = _exit_status(code)
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # closed, or its reader gone
                stream.flush()
        os._exit(status)


def _exit_status(code: object) -> int:
    """What `sys.exit(code)` would give the shell: None is 0, a message is printed and 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


app = _Motcua(
    help="motcua: hệ thống xử lý hồ sơ một cửa, bền vững trên Temporal.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    # Shell completion is not offered (nothing documents it): no English
    # --install-completion / --show-completion in every `motcua --help`.
    add_completion=False,
    options_metavar=OPTIONS_METAVAR,
    subcommand_metavar=SUBCOMMAND_METAVAR,
)

TZ = ZoneInfo(VIETNAM_TZ)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"lỗi: {message}", err=True)
    return typer.Exit(code)


def _settings() -> Settings:
    try:
        return get_settings()
    except SettingsError as exc:
        lines = "\n".join(f"  {line}" for line in str(exc).splitlines())
        raise _fail(f"cấu hình không hợp lệ (xem `motcua config --help`):\n{lines}") from None


@app.callback()
def main() -> None:
    """Mọi lệnh bắt đầu bằng việc đọc cấu hình: thiết lập sai thì dừng ngay (mã thoát 2)."""
    _settings()


def _parse_instant(value: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(
            f"--from: '{value}' không phải ngày giờ ISO 8601 như 2025-01-20T10:00"
        ) from None
    return dt.replace(tzinfo=TZ) if dt.tzinfo is None else dt


def _day(value: str | None) -> datetime | None:
    """A YYYY-MM-DD option as the start of that day in Viet Nam (None stays None)."""
    if value is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(0), TZ)
    except ValueError:
        raise _fail(f"'{value}' không phải một ngày (YYYY-MM-DD)") from None


def _catalog(directory: Path | None = None, lang: Lang = DEFAULT_LANG):  # type: ignore[no-untyped-def]
    try:
        return load_catalog(directory or _settings().catalog_dir)
    except CatalogError as exc:
        typer.echo(exc.render(lang), err=True)
        raise typer.Exit(1) from None
