"""`motcua token`: a development token for the HTTP API."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from motcua.cli._common import _fail, _settings, app


@app.command()
def token(
    role: Annotated[list[str], typer.Option(help="role (repeatable)")],
    sub: Annotated[str, typer.Option(help="subject: the user's id")],
    agency: Annotated[Optional[str], typer.Option(help="agency code (officers)")] = None,  # noqa: UP045
    name: Annotated[str, typer.Option(help="display name")] = "",
    hours: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(help="validity in hours (default: MOTCUA_JWT_MAX_LIFETIME_SECONDS, 12 h)"),
    ] = None,
) -> None:
    """Print a development token (HS256) to stdout, and nothing else."""
    from datetime import timedelta

    from api.auth import issue_token
    from domain.catalog import Role

    try:
        roles = [Role(r) for r in role]
    except ValueError as exc:
        raise _fail(f"--role: {exc}") from None
    try:
        text = issue_token(
            _settings(),
            sub=sub,
            roles=roles,
            agency=agency,
            name=name,
            ttl=None if hours is None else timedelta(hours=hours),
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(text)
