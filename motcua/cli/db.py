"""`motcua db`: the read model's schema (Alembic migrations)."""

from __future__ import annotations

from typing import Annotated

import typer

from motcua.cli._common import _fail, _settings
from motcua.cli._frame import OPTIONS_METAVAR, SUBCOMMAND_METAVAR

db_app = typer.Typer(
    options_metavar=OPTIONS_METAVAR,
    subcommand_metavar=SUBCOMMAND_METAVAR,
    help="Lược đồ của dữ liệu đọc (migration Alembic).",
    no_args_is_help=True,
)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Nâng dữ liệu đọc lên lược đồ mới nhất (API và worker tự làm khi khởi động; chạy
    lệnh này một lần trước khi nâng cấp cuốn chiếu)."""
    from store.db import MigrationError, current_revision, make_engine, migrate

    settings = _settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        before = current_revision(engine)
        migrate(engine)
        after = current_revision(engine)
    except MigrationError as exc:
        raise _fail(str(exc), 1) from None
    except Exception as exc:  # an unreachable server, wrong credentials
        raise _fail(
            f"không nâng cấp được dữ liệu đọc: {exc.__class__.__name__}: {exc}", 1
        ) from None
    finally:
        engine.dispose()
    typer.echo(
        f"dữ liệu đọc ở phiên bản {after}" + ("" if before == after else f" (trước đó: {before})")
    )


@db_app.command("current")
def db_current() -> None:
    """Phiên bản lược đồ của dữ liệu đọc và phiên bản mới nhất của bản phát hành này; mã
    thoát 1 khi hai phiên bản khác nhau."""
    from store.db import current_revision, head_revision, make_engine

    engine = make_engine(_settings().resolved_database_url)
    try:
        current = current_revision(engine)
    except Exception as exc:
        raise _fail(f"không đọc được dữ liệu đọc: {exc.__class__.__name__}: {exc}", 1) from None
    finally:
        engine.dispose()
    head = head_revision()
    typer.echo(f"hiện tại: {current or '(trống)'}\nmới nhất: {head}")
    if current != head:
        raise typer.Exit(1)


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="phiên bản đích, ví dụ 0003, hoặc 'base'")],
    yes: Annotated[bool, typer.Option("--yes", help="không hỏi xác nhận")] = False,
) -> None:
    """Hạ dữ liệu đọc về một phiên bản trước (để quay lại bản phát hành cũ). Các cột và
    bảng mới hơn phiên bản đích bị xóa cùng dữ liệu của chúng."""
    from alembic import command
    from alembic.util import CommandError

    from store.db import alembic_config

    url = _settings().resolved_database_url
    if not yes:
        typer.confirm(f"Hạ dữ liệu đọc về phiên bản {revision}, xóa dữ liệu mới hơn?", abort=True)
    try:
        command.downgrade(alembic_config(url), revision)
    except CommandError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"dữ liệu đọc đã hạ về phiên bản {revision}")
