"""`motcua retention`: closed dossiers past their retention period."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated

import typer

from motcua.cli._common import TZ, _catalog, _fail, _settings
from motcua.cli._frame import OPTIONS_METAVAR, SUBCOMMAND_METAVAR

retention_app = typer.Typer(
    options_metavar=OPTIONS_METAVAR,
    subcommand_metavar=SUBCOMMAND_METAVAR,
    help="Thời hạn lưu trữ hồ sơ (Luật Lưu trữ): các hồ sơ đã kết thúc và hết thời hạn.",
    no_args_is_help=True,
)


@retention_app.command("list")
def retention_list(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="ngày xét (YYYY-MM-DD, mặc định: hôm nay theo giờ Việt Nam)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="in dạng JSON")] = False,
) -> None:
    """Liệt kê các hồ sơ đã kết thúc và hết thời hạn lưu trữ: mã, thủ tục, loại kết quả,
    ngày kết thúc và ngày hết thời hạn (không có dữ liệu cá nhân). Chỉ liệt kê: xử lý từng
    hồ sơ ra sao là quyết định của cán bộ lưu trữ (docs/personal-data.md)."""
    from domain.retention import past_retention
    from motcua.stack import read_model
    from store.retention import retention_candidates

    settings = _settings()
    if as_of is None:
        day = datetime.now(TZ).date()
    else:
        try:
            day = date.fromisoformat(as_of)
        except ValueError:
            raise _fail(f"--as-of: '{as_of}' không phải một ngày (YYYY-MM-DD)") from None
    catalog = _catalog()
    engine = read_model(settings)
    try:
        candidates = retention_candidates(engine, day)
    finally:
        engine.dispose()
    default = settings.retention_default_years
    past = past_retention(catalog, candidates, default, day)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "as_of": day.isoformat(),
                    "default_years": default,
                    "dossiers": [
                        {
                            "code": d.code,
                            "procedure_code": d.procedure_code,
                            "procedure_version": d.procedure_version,
                            "result_type": d.result_type,
                            "closed_on": d.closed_on.isoformat(),
                            "retention_years": d.retention_years,
                            "retention_end": d.retention_end.isoformat(),
                            "period_from": "catalog" if d.from_catalog else "default",
                        }
                        for d in past
                    ],
                },
                indent=2,
            )
        )
        return
    for d in past:
        source = "" if d.from_catalog else " (mặc định)"
        typer.echo(
            f"{d.code:28} {d.procedure_code} v{d.procedure_version:<3} "
            f"{d.result_type or '-':13} kết thúc {d.closed_on:%d/%m/%Y}  "
            f"{d.retention_years:>3} năm{source:11} hết hạn lưu trữ {d.retention_end:%d/%m/%Y}"
        )
    typer.echo(f"{len(past)} hồ sơ đã hết thời hạn lưu trữ vào ngày {day:%d/%m/%Y}")


@retention_app.command("schedule")
def retention_schedule(
    as_json: Annotated[bool, typer.Option("--json", help="in dạng JSON")] = False,
) -> None:
    """Thời hạn lưu trữ của mỗi phiên bản thủ tục theo loại kết quả: theo danh mục
    (procedures/*.yaml `retention:`), nếu không có thì mặc định (MOTCUA_RETENTION_DEFAULT_YEARS)."""
    from domain.catalog import RESULT_TYPES

    settings = _settings()
    catalog = _catalog()
    default = settings.retention_default_years
    rows = []
    for versions in sorted(catalog.procedures.values(), key=lambda v: v[0].code):
        for p in versions:
            periods = {}
            for result_type in RESULT_TYPES:
                named = p.retention.period(result_type)
                periods[result_type] = {
                    "period": default if named is None else named,
                    "from": "default" if named is None else "catalog",
                }
            rows.append((p, periods))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "default_years": default,
                    "procedures": [
                        {"code": p.code, "version": p.version, "retention": periods}
                        for p, periods in rows
                    ],
                },
                indent=2,
            )
        )
        return
    typer.echo(f"{'thủ tục':12} " + " ".join(f"{t:>13}" for t in RESULT_TYPES))
    for p, periods in rows:
        cells = []
        for t in RESULT_TYPES:
            value = periods[t]["period"]
            text = "vĩnh viễn" if value == "permanent" else f"{value} năm"
            cells.append(f"{text + ('*' if periods[t]['from'] == 'default' else ''):>13}")
        typer.echo(f"{p.code + ' v' + str(p.version):12} " + " ".join(cells))
    typer.echo(f"* mặc định, MOTCUA_RETENTION_DEFAULT_YEARS={default}")
