"""`motcua retention`: closed dossiers past their retention period."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated

import typer

from motcua.cli._common import TZ, _catalog, _fail, _settings

retention_app = typer.Typer(
    help="Records retention (archives law): which closed dossiers are past their period.",
    no_args_is_help=True,
)


@retention_app.command("list")
def retention_list(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="the day to judge on (YYYY-MM-DD, default: today in Viet Nam)"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List closed dossiers whose retention period has ended: code, procedure, result
    type, closing day and the end of the period (no personal data). Only lists: what
    happens to each dossier is the archives officer's decision (docs/personal-data.md)."""
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
            raise _fail(f"--as-of: '{as_of}' is not a date (YYYY-MM-DD)") from None
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
        source = "" if d.from_catalog else " (default)"
        typer.echo(
            f"{d.code:28} {d.procedure_code} v{d.procedure_version:<3} "
            f"{d.result_type or '-':13} closed {d.closed_on.isoformat()}  "
            f"{d.retention_years:>3} y{source:10} ended {d.retention_end.isoformat()}"
        )
    typer.echo(f"{len(past)} dossier(s) past retention on {day.isoformat()}")


@retention_app.command("schedule")
def retention_schedule(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The retention period of each procedure version per result type: from the catalog
    (procedures/*.yaml `retention:`), else the default (MOTCUA_RETENTION_DEFAULT_YEARS)."""
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
    typer.echo(f"{'procedure':12} " + " ".join(f"{t:>13}" for t in RESULT_TYPES))
    for p, periods in rows:
        cells = []
        for t in RESULT_TYPES:
            value = periods[t]["period"]
            text = "permanent" if value == "permanent" else f"{value} y"
            cells.append(f"{text + ('*' if periods[t]['from'] == 'default' else ''):>13}")
        typer.echo(f"{p.code + ' v' + str(p.version):12} " + " ".join(cells))
    typer.echo(f"* the default, MOTCUA_RETENTION_DEFAULT_YEARS={default}")
