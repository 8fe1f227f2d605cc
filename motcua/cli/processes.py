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
        list[str] | None, typer.Option(help="mã cơ quan (lặp lại được) cho vai trò 'agency'")
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(help="cho vai trò 'agencies': cơ quan (lặp lại được) có worker riêng"),
    ] = None,
) -> None:
    """Chạy worker cho đến khi nhận Ctrl-C hoặc SIGTERM: của trung tâm (`centre`), của các
    cơ quan được nêu (`agency --agency MÃ`), của mọi cơ quan trong danh mục trừ các cơ quan
    loại ra (`agencies --exclude MÃ`), hoặc của trung tâm và mọi cơ quan (`all`). Chạy bao
    nhiêu tiến trình mỗi loại tùy tải: các tiến trình cùng hàng đợi tác vụ chia nhau việc."""
    from infra.telemetry import SERVICE_WORKER, setup_telemetry
    from motcua.stack import run_worker_process

    catalog = _catalog()
    named = list(agency or []) + list(exclude or [])
    unknown = [a for a in named if a not in catalog.agencies]
    if unknown:
        raise _fail(f"không có cơ quan {', '.join(unknown)} trong danh mục")
    if role == "centre":
        centre, agencies = True, []
    elif role == "agency":
        if not agency:
            raise _fail("cần --agency MÃ_CƠ_QUAN")
        centre, agencies = False, list(agency)
    elif role == "agencies":
        centre, agencies = False, sorted(set(catalog.agencies) - set(exclude or []))
    elif role == "all":
        centre, agencies = True, sorted(catalog.agencies)
    else:
        raise _fail("vai trò của worker là một trong: centre, agency, agencies, all")
    if exclude and role != "agencies":
        raise _fail("--exclude chỉ dùng với vai trò 'agencies'")
    if agency and role != "agency":
        raise _fail("--agency chỉ dùng với vai trò 'agency'")
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
    state_dir: Annotated[Optional[Path], typer.Option(help="thư mục trạng thái cục bộ")] = None,  # noqa: UP045
    temporal_port: Annotated[
        int, typer.Option(help="cổng frontend của Temporal (giao diện web ở +1000)")
    ] = 7233,
    api_port: Annotated[int | None, typer.Option(help="cổng của HTTP API (mặc định 8000)")] = None,
    demo: Annotated[bool, typer.Option(help="chạy một hồ sơ minh họa khi khởi động")] = True,
    exit_after_demo: Annotated[
        bool, typer.Option(help="dừng sau phần minh họa (cho script)")
    ] = False,
) -> None:
    """Chạy toàn bộ hệ thống cục bộ: máy chủ Temporal (dev), worker, API, hồ sơ minh họa."""
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
            f"--api-port {settings.api_port} là cổng "
            f"{'frontend' if settings.api_port == temporal_port else 'giao diện web'} của máy chủ "
            "Temporal (dev); hãy chọn cổng khác"
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
    host: Annotated[Optional[str], typer.Option(help="địa chỉ lắng nghe")] = None,  # noqa: UP045
    port: Annotated[Optional[int], typer.Option(help="cổng lắng nghe")] = None,  # noqa: UP045
) -> None:
    """Chạy HTTP API (áp dụng migration trước)."""
    import uvicorn

    from api.app import create_app
    from api.auth import TokenVerifier
    from infra.telemetry import SERVICE_API, setup_telemetry
    from motcua.stack import proxy_options, read_model

    settings = _settings()
    try:  # the bearer-token keys: a wrong key file stops here, not in the server's startup
        TokenVerifier.from_settings(settings)
    except ValueError as exc:
        raise _fail(f"cấu hình không hợp lệ:\n  {exc}") from None
    setup_telemetry(settings, SERVICE_API)
    engine = read_model(settings)  # applies migrations
    uvicorn.run(
        create_app(settings, engine=engine),
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level="info",
        **proxy_options(settings),
    )
