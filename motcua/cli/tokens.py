"""`motcua token`: a development token for the HTTP API."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from motcua.cli._common import _fail, _settings, app


@app.command()
def token(
    role: Annotated[list[str], typer.Option(help="vai trò (lặp lại được)")],
    sub: Annotated[str, typer.Option(help="subject: mã người dùng")],
    agency: Annotated[Optional[str], typer.Option(help="mã cơ quan (với cán bộ)")] = None,  # noqa: UP045
    name: Annotated[str, typer.Option(help="tên hiển thị")] = "",
    hours: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            help="thời hạn hiệu lực, tính bằng giờ (mặc định: "
            "MOTCUA_JWT_MAX_LIFETIME_SECONDS, 12 giờ)"
        ),
    ] = None,
) -> None:
    """In một token thử nghiệm (HS256) ra stdout, và không in gì khác."""
    from datetime import timedelta

    from pydantic import ValidationError

    from api.auth import issue_token
    from domain.catalog import Role
    from domain.validation import explain

    try:
        roles = [Role(r) for r in role]
    except ValueError:
        raise _fail(
            f"--role: vai trò không xác định trong {', '.join(role)} (các vai trò: "
            f"{', '.join(r.value for r in Role)})"
        ) from None
    try:
        text = issue_token(
            _settings(),
            sub=sub,
            roles=roles,
            agency=agency,
            name=name,
            ttl=None if hours is None else timedelta(hours=hours),
        )
    except ValidationError as exc:  # the claims (an officer without an agency, ...)
        raise _fail(explain(exc.errors()[0])) from None
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(text)
