"""What every command group shares: the root `app`, settings, the catalog, errors, dates."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import typer

from domain.calendar import VIETNAM_TZ
from domain.catalog import CatalogError, load_catalog
from infra.settings import Settings, SettingsError, get_settings

app = typer.Typer(
    help="motcua: durable one-stop dossier engine on Temporal.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

TZ = ZoneInfo(VIETNAM_TZ)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _settings() -> Settings:
    try:
        return get_settings()
    except SettingsError as exc:
        lines = "\n".join(f"  {line}" for line in str(exc).splitlines())
        raise _fail(f"invalid settings (see `motcua config --help`):\n{lines}") from None


@app.callback()
def main() -> None:
    """Every command starts by reading the settings: a wrong one stops it here (exit 2)."""
    _settings()


def _parse_instant(value: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(
            f"--from: '{value}' is not an ISO 8601 date-time like 2025-01-20T10:00"
        ) from None
    return dt.replace(tzinfo=TZ) if dt.tzinfo is None else dt


def _day(value: str | None) -> datetime | None:
    """A YYYY-MM-DD option as the start of that day in Viet Nam (None stays None)."""
    if value is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(0), TZ)
    except ValueError:
        raise _fail(f"'{value}' is not a date (YYYY-MM-DD)") from None


def _catalog(directory: Path | None = None):  # type: ignore[no-untyped-def]
    try:
        return load_catalog(directory or _settings().catalog_dir)
    except CatalogError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
