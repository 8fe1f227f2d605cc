"""`motcua demo`, `motcua state`, `motcua history`: one dossier's workflow, live or exported."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from motcua.cli._common import _catalog, _fail, _settings, app
from motcua.cli._frame import OPTIONS_METAVAR, SUBCOMMAND_METAVAR

history_app = typer.Typer(
    options_metavar=OPTIONS_METAVAR,
    subcommand_metavar=SUBCOMMAND_METAVAR,
    help="Lịch sử workflow: xuất và phát lại (dành cho kiểm tra viên).",
    no_args_is_help=True,
)


@app.command("demo")
def demo_cmd() -> None:
    """Đưa một hồ sơ đi qua mọi bước trên hệ thống đang chạy."""
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
    """Trạng thái hiện tại của một hồ sơ (truy vấn workflow), dạng JSON."""
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
    """Ghi lịch sử workflow của một hồ sơ dạng JSON, đúng như Temporal lưu (payload đã mã
    hóa; `history replay` đọc bằng bộ khóa, `audit export` giải mã)."""
    from infra.temporal import connect

    async def main() -> str:
        client = await connect(_settings())
        history = await client.get_workflow_handle(code).fetch_history()
        return history.to_json()

    text = asyncio.run(main())
    if out:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"đã ghi {out}")
    else:
        sys.stdout.write(text + "\n")


@history_app.command("replay")
def history_replay(files: list[Path]) -> None:
    """Phát lại các lịch sử đã xuất với mã workflow hiện tại; mã thoát 1 nếu có sai khác."""
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
                typer.echo(f"LỖI {path}: {result.replay_failure}")
            else:
                typer.echo(f"ok  {path}")
        return failures

    if asyncio.run(main()):
        raise typer.Exit(1)
