"""`motcua demo`, `motcua state`, `motcua history`: one dossier's workflow, live or exported."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from motcua.cli._common import _catalog, _fail, _settings, app

history_app = typer.Typer(
    help="Workflow histories: export and replay (auditors).", no_args_is_help=True
)


@app.command("demo")
def demo_cmd() -> None:
    """Walk one dossier through every step on an already running stack."""
    from infra.temporal import connect
    from motcua.demo import run_demo
    from motcua.stack import read_model
    from services.dossiers import DossierService

    async def main() -> None:
        settings = _settings()
        client = await connect(settings)
        await run_demo(
            DossierService(client, read_model(settings), _catalog(), settings), typer.echo
        )

    asyncio.run(main())


@app.command("state")
def state_cmd(code: str) -> None:
    """Print a dossier's live state (the workflow query) as JSON."""
    from infra.temporal import connect
    from motcua.stack import read_model
    from services.dossiers import DossierService, ServiceError

    async def main() -> str:
        settings = _settings()
        client = await connect(settings)
        service = DossierService(client, read_model(settings), _catalog(), settings)
        return (await service.state(code)).model_dump_json(indent=2)

    try:
        typer.echo(asyncio.run(main()))
    except ServiceError as exc:
        raise _fail(exc.message, 1) from None


@history_app.command("export")
def history_export(code: str, out: Annotated[Optional[Path], typer.Option()] = None) -> None:  # noqa: UP045
    """Write a dossier's workflow history as JSON, as Temporal holds it (payloads
    encrypted; `history replay` reads it with the key ring, `audit export` decrypts)."""
    from infra.temporal import connect

    async def main() -> str:
        client = await connect(_settings())
        history = await client.get_workflow_handle(code).fetch_history()
        return history.to_json()

    text = asyncio.run(main())
    if out:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")
    else:
        sys.stdout.write(text + "\n")


@history_app.command("replay")
def history_replay(files: list[Path]) -> None:
    """Replay exported histories with today's workflow code; exit 1 on any divergence."""
    from temporalio.client import WorkflowHistory

    from infra.temporal import data_converter
    from services.audit.replay import replayer

    settings = _settings()

    async def main() -> int:
        failures = 0
        for path in files:
            data = json.loads(path.read_text(encoding="utf-8"))
            result = await replayer(data_converter(settings)).replay_workflow(
                WorkflowHistory.from_json(path.stem, data), raise_on_replay_failure=False
            )
            if result.replay_failure:
                failures += 1
                typer.echo(f"FAIL {path}: {result.replay_failure}")
            else:
                typer.echo(f"ok   {path}")
        return failures

    if asyncio.run(main()):
        raise typer.Exit(1)
