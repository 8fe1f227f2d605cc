"""`motcua worker`, `motcua dev`, `motcua api`: the long-running processes."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from motcua.cli._common import _catalog, _fail, _settings, app


@app.command()
def worker(
    role: Annotated[str, typer.Argument(help="centre | agency | agencies | all")],
    agency: Annotated[
        list[str] | None, typer.Option(help="agency code (repeatable) for 'agency'")
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(help="for 'agencies': an agency (repeatable) served by its own workers"),
    ] = None,
) -> None:
    """Run workers until Ctrl-C or SIGTERM: the centre's (`centre`), the named agencies'
    (`agency --agency CODE`), every agency of the catalog but those excluded (`agencies
    --exclude CODE`), or the centre and every agency (`all`). Run as many processes of each
    as the load needs: processes on the same task queue share its work."""
    from infra.telemetry import SERVICE_WORKER, setup_telemetry
    from motcua.stack import run_worker_process

    catalog = _catalog()
    named = list(agency or []) + list(exclude or [])
    unknown = [a for a in named if a not in catalog.agencies]
    if unknown:
        raise _fail(f"unknown agency {', '.join(unknown)}")
    if role == "centre":
        centre, agencies = True, []
    elif role == "agency":
        if not agency:
            raise _fail("give --agency CODE")
        centre, agencies = False, list(agency)
    elif role == "agencies":
        centre, agencies = False, sorted(set(catalog.agencies) - set(exclude or []))
    elif role == "all":
        centre, agencies = True, sorted(catalog.agencies)
    else:
        raise _fail("the worker role is one of: centre, agency, agencies, all")
    if exclude and role != "agencies":
        raise _fail("--exclude goes with the 'agencies' role")
    if agency and role != "agency":
        raise _fail("--agency goes with the 'agency' role")
    settings = _settings()
    setup_telemetry(settings, SERVICE_WORKER)
    asyncio.run(run_worker_process(settings, centre=centre, agencies=agencies))
    _exit_after_drain()


def _exit_after_drain() -> None:
    """Leave a process whose workers have drained without CPython's finalization: the
    Temporal SDK's Rust threads can outlive the event loop and make the interpreter abort
    (SIGABRT) while it finalizes (temporalio/sdk-python#300). What finalization would do
    that matters is done first: spans exported, logs and output flushed."""
    import logging
    import os

    from infra.telemetry import tracer_provider

    tracer_provider().force_flush()
    tracer_provider().shutdown()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@app.command()
def dev(
    state_dir: Annotated[Optional[Path], typer.Option(help="local state folder")] = None,  # noqa: UP045
    temporal_port: Annotated[int, typer.Option(help="Temporal frontend port (UI on +1000)")] = 7233,
    api_port: Annotated[Optional[int], typer.Option(help="HTTP API port (default 8000)")] = None,  # noqa: UP045
    demo: Annotated[bool, typer.Option(help="walk one demo dossier at start")] = True,
    exit_after_demo: Annotated[
        bool, typer.Option(help="stop after the demo (for scripts)")
    ] = False,
) -> None:
    """Run the embedded stack: Temporal dev server, workers, API, demo dossier."""
    from infra.telemetry import SERVICE_DEV, setup_telemetry
    from motcua.devserver import DevServerError
    from motcua.stack import run_dev_stack

    settings = _settings()
    updates: dict[str, object] = {}
    if state_dir is not None:
        updates["state_dir"] = state_dir.resolve()
    if api_port is not None:
        updates["api_port"] = api_port
    settings = settings.model_copy(update=updates)
    if settings.api_port in (temporal_port, temporal_port + 1000):
        raise _fail(
            f"--api-port {settings.api_port} is the Temporal dev server's "
            f"{'frontend' if settings.api_port == temporal_port else 'web UI'} port; choose another"
        )
    try:
        setup_telemetry(settings, SERVICE_DEV)
        asyncio.run(
            run_dev_stack(
                settings,
                temporal_port=temporal_port,
                demo=demo,
                stop_after_demo=exit_after_demo,
                say=typer.echo,
            )
        )
    except (DevServerError, OSError, RuntimeError) as exc:
        raise _fail(str(exc), 1) from None


@app.command()
def api(
    host: Annotated[Optional[str], typer.Option(help="listen address")] = None,  # noqa: UP045
    port: Annotated[Optional[int], typer.Option(help="listen port")] = None,  # noqa: UP045
) -> None:
    """Serve the HTTP API (migrations are applied first)."""
    import uvicorn

    from api.app import create_app
    from infra.telemetry import SERVICE_API, setup_telemetry
    from motcua.stack import proxy_options, read_model

    settings = _settings()
    setup_telemetry(settings, SERVICE_API)
    engine = read_model(settings)  # applies migrations
    uvicorn.run(
        create_app(settings, engine=engine),
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level="info",
        **proxy_options(settings),
    )
