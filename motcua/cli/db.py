"""`motcua db`: the read model's schema (Alembic migrations)."""

from __future__ import annotations

from typing import Annotated

import typer

from motcua.cli._common import _fail, _settings

db_app = typer.Typer(help="The read model's schema (Alembic migrations).", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the read model to the newest schema (what the API and workers do at start;
    run it as a one-shot job before a rolling upgrade)."""
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
        raise _fail(f"cannot migrate the read model: {exc.__class__.__name__}: {exc}", 1) from None
    finally:
        engine.dispose()
    typer.echo(f"read model at revision {after}" + ("" if before == after else f" (was {before})"))


@db_app.command("current")
def db_current() -> None:
    """Print the read model's schema revision and the newest one this release ships;
    exit 1 when they differ."""
    from store.db import current_revision, head_revision, make_engine

    engine = make_engine(_settings().resolved_database_url)
    try:
        current = current_revision(engine)
    except Exception as exc:
        raise _fail(f"cannot read the read model: {exc.__class__.__name__}: {exc}", 1) from None
    finally:
        engine.dispose()
    head = head_revision()
    typer.echo(f"current: {current or '(empty)'}\nhead:    {head}")
    if current != head:
        raise typer.Exit(1)


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="target revision, e.g. 0003, or 'base'")],
    yes: Annotated[bool, typer.Option("--yes", help="no confirmation question")] = False,
) -> None:
    """Downgrade the read model to an earlier revision (to roll back a release). Columns
    and tables newer than the target are dropped with their data."""
    from alembic import command
    from alembic.util import CommandError

    from store.db import alembic_config

    url = _settings().resolved_database_url
    if not yes:
        typer.confirm(f"Downgrade the read model to {revision}, dropping newer data?", abort=True)
    try:
        command.downgrade(alembic_config(url), revision)
    except CommandError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"read model downgraded to {revision}")
