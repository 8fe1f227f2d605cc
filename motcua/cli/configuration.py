"""`motcua config`: the effective settings."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from motcua.cli._common import _settings, app


@app.command("config")
def config_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="một đối tượng JSON")] = False,
    describe: Annotated[bool, typer.Option(help="kèm ý nghĩa của từng thiết lập")] = False,
) -> None:
    """Các thiết lập đang có hiệu lực, dưới dạng biến môi trường, che các giá trị bí mật.

    Dấu '#' đánh dấu giá trị lấy từ mặc định ("mặc định"), không phải từ môi trường."""
    from infra.settings import effective_settings

    rows = effective_settings(_settings())
    if as_json:
        typer.echo(json.dumps({r.env: r.value for r in rows}, indent=2, ensure_ascii=False))
        return
    width = min(max(len(r.env) + len(r.value) for r in rows) + 1, 64)
    for r in rows:
        line = f"{r.env}={r.value}"
        notes = [
            n for n in ("mặc định" if r.default else "", r.description if describe else "") if n
        ]
        typer.echo(f"{line:<{width}}  # {'; '.join(notes)}" if notes else line)
