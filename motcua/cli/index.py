"""`motcua index`: publish a past month of the Decision 766 index (frozen; a correction is
the next revision with its reason) and show what was published."""

from __future__ import annotations

import asyncio
import getpass
from typing import Annotated, Literal, Optional

import typer

from motcua.cli._common import TZ, _catalog, _fail
from motcua.cli._frame import OPTIONS_METAVAR, SUBCOMMAND_METAVAR

index_app = typer.Typer(
    options_metavar=OPTIONS_METAVAR,
    subcommand_metavar=SUBCOMMAND_METAVAR,
    help="Bộ chỉ số phục vụ theo Quyết định 766: công bố một tháng, xem một lần công bố.",
    no_args_is_help=True,
)
PERIOD = typer.Option("--period", help="tháng, dạng YYYY-MM")


@index_app.command("publish")
def index_publish(
    period: Annotated[str, PERIOD],
    reason: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="lý do đính chính: công bố lần tiếp theo"),
    ] = None,
    who: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--as", help="mã của lãnh đạo công bố (mặc định: người dùng hệ điều hành)"),
    ] = None,
    name: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="họ tên lãnh đạo công bố, như được công bố"),
    ] = None,
) -> None:
    """Công bố một tháng đã qua (bộ chỉ số, danh sách hồ sơ trễ hạn cùng đơn vị và cán bộ
    chịu trách nhiệm, CSV và JSON cho Cổng), một lần; với --reason: một lần đính chính."""
    from motcua.cli.audit import _auditing
    from services.index_publication import (
        Publication,
        PublicationError,
        month_bounds,
        publish_month,
        snapshot_month,
    )

    try:
        start, end = month_bounds(period)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    service, _ = _auditing(who)

    async def main() -> Publication:
        s = await service()
        late = await s.late_in_period(since=start, until=end)
        snapshot = await asyncio.to_thread(snapshot_month, s.engine, _catalog(), period, late)
        by = who or f"os:{getpass.getuser()}"
        return await asyncio.to_thread(
            publish_month, s.engine, snapshot, by=by, by_name=name or by, reason=reason
        )

    try:
        pub = asyncio.run(main())
    except PublicationError as exc:
        raise _fail(str(exc.args[0]), 1) from None
    _print(pub)


def _print(pub) -> None:  # type: ignore[no-untyped-def]
    when = pub.published_at.astimezone(TZ).strftime("%H:%M %d/%m/%Y")
    total = pub.snapshot.index.total
    typer.echo(
        f"tháng {pub.period}, lần {pub.revision}: công bố {when} bởi {pub.published_by_name}"
        + (f" (đính chính: {pub.reason})" if pub.reason else "")
    )
    typer.echo(
        f"  {total.counts.received} hồ sơ, {total.counts.on_time} đúng hạn "
        f"({total.on_time_rate if total.on_time_rate is not None else '-'} %), "
        f"{len(pub.snapshot.late)} hồ sơ trễ hạn; sha256 {pub.sha256}"
        + ("" if pub.intact else "  KHÔNG KHỚP MÃ BĂM")
    )


@index_app.command("show")
def index_show(
    period: Annotated[str, PERIOD],
    revision: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(min=1, help="một lần công bố (mặc định: lần mới nhất)"),
    ] = None,
    format: Annotated[
        Literal["text", "json", "csv", "late-csv"], typer.Option(help="nội dung cần in")
    ] = "text",
) -> None:
    """Xem một tháng đã công bố: tóm tắt và mọi lần công bố, hoặc JSON, CSV của bộ chỉ số
    hay CSV của danh sách trễ hạn, đúng như đã công bố."""
    from motcua.cli._common import _settings
    from motcua.stack import read_model
    from services.index_publication import NotPublished, published_month

    engine = read_model(_settings())
    try:
        month = published_month(engine, period, revision)
    except (ValueError, NotPublished) as exc:
        raise _fail(str(exc.args[0]), 1) from None
    snapshot = month.current.snapshot
    if format == "json":
        typer.echo(month.model_dump_json(indent=2))
    elif format == "csv":
        typer.echo(snapshot.index_csv, nl=False)
    elif format == "late-csv":
        typer.echo(snapshot.late_csv, nl=False)
    else:
        _print(month.current)
        for r in month.revisions:
            when = r.published_at.astimezone(TZ).strftime("%H:%M %d/%m/%Y")
            typer.echo(
                f"  lần {r.revision}: {when}, {r.published_by_name}"
                + (f", lý do: {r.reason}" if r.reason else "")
            )
