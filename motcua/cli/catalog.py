"""`motcua procedures`: the procedure catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from motcua.cli._common import _catalog, _fail

procedures_app = typer.Typer(help="The procedure catalog.", no_args_is_help=True)


@procedures_app.command("list")
def procedures_list() -> None:
    """List the procedures in the catalog."""
    catalog = _catalog()
    for p in catalog.latest():
        typer.echo(f"{p.code}  v{p.version}  {p.statutory_time!s:22} {p.name}")


@procedures_app.command("show")
def procedures_show(code: str) -> None:
    """Show one procedure (latest version) as JSON."""
    catalog = _catalog()
    try:
        p = catalog.procedure(code)
    except KeyError as exc:
        raise _fail(str(exc.args[0]), 1) from None
    typer.echo(p.model_dump_json(indent=2))


@procedures_app.command("validate")
def procedures_validate(directory: Annotated[Optional[Path], typer.Argument()] = None) -> None:  # noqa: UP045
    """Validate a catalog directory; exit 1 with every problem listed."""
    catalog = _catalog(directory)
    typer.echo(f"ok: {len(catalog.agencies)} agencies, {len(catalog.procedures)} procedures")
