"""`motcua portal`: the national portal's dossiers the pull could not start."""

from __future__ import annotations

from typing import Annotated

import typer

from motcua.cli._common import TZ, _settings
from motcua.cli._frame import OPTIONS_METAVAR, SUBCOMMAND_METAVAR

portal_app = typer.Typer(
    options_metavar=OPTIONS_METAVAR,
    subcommand_metavar=SUBCOMMAND_METAVAR,
    help="Cổng Dịch vụ công quốc gia: các hồ sơ lấy về nhưng chưa tiếp nhận được.",
    no_args_is_help=True,
)


@portal_app.command("skipped")
def portal_skipped(
    limit: Annotated[int, typer.Option("--limit", min=1, help="số dòng tối đa")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="in dạng JSON")] = False,
) -> None:
    """Các hồ sơ từ Cổng chưa được tiếp nhận (không dùng được, bị từ chối, hoặc tệp không
    về), mới nhất trước: khi đã sửa lỗi, hãy đề nghị Cổng gửi lại từng hồ sơ; lần lấy hồ sơ
    đã đi qua chúng và sẽ không hỏi lại."""
    import json

    from motcua.stack import read_model
    from store import repository

    engine = read_model(_settings())
    try:
        rows = repository.portal_skipped(engine, limit=limit)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json", exclude={"id"}) for r in rows], indent=2))
        return
    for r in rows:
        kind = "không phản hồi" if r.unavailable else "bị từ chối"
        typer.echo(
            f"{r.portal_code or '(không mã)':24} {r.via:5} {kind:15} "
            f"{r.last_at.astimezone(TZ):%H:%M %d/%m/%Y} ×{r.times}  {r.reason}"
        )
    typer.echo(f"{len(rows)} hồ sơ từ Cổng DVCQG chưa được tiếp nhận")
