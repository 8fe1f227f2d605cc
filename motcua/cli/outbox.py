"""`motcua outbox`: what the notification sender has delivered, is retrying, or gave up."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from motcua.cli._common import TZ, _fail, _settings
from motcua.cli._frame import OPTIONS_METAVAR, SUBCOMMAND_METAVAR

outbox_app = typer.Typer(
    options_metavar=OPTIONS_METAVAR,
    subcommand_metavar=SUBCOMMAND_METAVAR,
    help="Thông báo (email, SMS, Cổng): đang chờ, gửi không thành công, đã gửi; gửi lại thông "
    "báo lỗi.",
    no_args_is_help=True,
)


# A delivery state as a person reads it (the states themselves stay as they are typed).
STATES = {
    "pending": "đang chờ gửi",
    "failed": "gửi không thành công",
    "sent": "đã gửi",
    "all": "(mọi trạng thái)",
}


def _when(value: datetime | None) -> str:
    return f"{value.astimezone(TZ):%H:%M %d/%m/%Y}" if value else "-"


@outbox_app.command("list")
def outbox_list(
    state: Annotated[
        str, typer.Option("--state", help="pending, failed, sent hoặc all")
    ] = "pending",
    channel: Annotated[
        str | None, typer.Option("--channel", help="chỉ kênh này (email, sms, portal...)")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="số dòng tối đa")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="in dạng JSON")] = False,
) -> None:
    """Thông báo theo trạng thái gửi, cũ nhất trước, kèm số lần thử và lỗi gần nhất; người
    nhận được che (cả trong mã tham chiếu). Trước hết là số lượng theo kênh và trạng thái."""
    from motcua.stack import read_model
    from services.notify.status import outbox_status

    if state not in ("pending", "failed", "sent", "all"):
        raise _fail(f"--state: '{state}' không phải một trong: pending, failed, sent, all")
    engine = read_model(_settings())
    try:
        status = outbox_status(engine, state, channel=channel, limit=limit)  # type: ignore[arg-type]
    finally:
        engine.dispose()
    if as_json:
        typer.echo(status.model_dump_json(indent=2))
        return
    for c in status.counts:
        typer.echo(f"{c.channel:8} {c.state:8} {c.count:>6}")
    for n in status.notifications:
        nxt = (
            f", lần tới {_when(n.next_attempt_at)}"
            if n.state == "pending" and n.next_attempt_at
            else ""
        )
        typer.echo(
            f"{n.state:8} {n.channel:7} {n.ref:56} {_when(n.created_at)}  {n.attempts} lần thử{nxt}"
        )
        if n.last_error:
            typer.echo(f"         lỗi gần nhất: {n.last_error}")
    typer.echo(f"{len(status.notifications)} thông báo {STATES[state]}")


@outbox_app.command("retry")
def outbox_retry(
    dossier: Annotated[
        str | None, typer.Option("--dossier", help="các thông báo lỗi của hồ sơ này")
    ] = None,
    channel: Annotated[
        str | None, typer.Option("--channel", help="chỉ kênh này (email, sms...)")
    ] = None,
    all_failed: Annotated[
        bool, typer.Option("--all-failed", help="mọi thông báo lỗi (của --channel)")
    ] = False,
) -> None:
    """Đưa lại các thông báo gửi không thành công vào hàng đợi, đếm lại số lần thử từ đầu,
    sau khi đã sửa điều mà lỗi gần nhất nêu (mật khẩu SMTP, số dư của cổng SMS...): của một
    hồ sơ (--dossier), hoặc tất cả (--all-failed); --channel thu hẹp cả hai."""
    from motcua.stack import read_model
    from store.repository.outbox_delivery import retry_outbox

    if bool(dossier) == all_failed:
        raise _fail("hãy nêu một hồ sơ (--dossier MÃ) hoặc --all-failed (không dùng cả hai)")
    engine = read_model(_settings())
    try:
        n = retry_outbox(engine, dossier_code=dossier, channel=channel)
    finally:
        engine.dispose()
    typer.echo(f"đã đưa lại {n} thông báo vào hàng đợi gửi")
