"""`motcua procedures`: the procedure catalog."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional
from zoneinfo import ZoneInfo

import typer

from domain.calendar import VIETNAM_TZ
from domain.i18n import DEFAULT_LANG, Lang
from motcua.cli._common import _catalog, _fail, _settings
from motcua.cli._frame import OPTIONS_METAVAR, SUBCOMMAND_METAVAR

if TYPE_CHECKING:
    from services.catalog import CatalogAdmin

procedures_app = typer.Typer(
    options_metavar=OPTIONS_METAVAR,
    subcommand_metavar=SUBCOMMAND_METAVAR,
    help="Danh mục thủ tục hành chính.",
    no_args_is_help=True,
)


@procedures_app.command("list")
def procedures_list() -> None:
    """Liệt kê các thủ tục trong danh mục."""
    catalog = _catalog()
    today = datetime.now(ZoneInfo(VIETNAM_TZ)).date()
    for p in catalog.in_force(today):
        # A version published for a later day is named beside the one in force.
        later = [v for v in catalog.procedures[p.code] if v.version > p.version]
        upcoming = "".join(f"  (v{v.version} từ {v.effective_from:%d/%m/%Y})" for v in later)
        typer.echo(f"{p.code}  v{p.version}  {p.statutory_time.vi:22} {p.name}{upcoming}")


@procedures_app.command("show")
def procedures_show(code: str) -> None:
    """Một thủ tục (phiên bản mới nhất), dạng JSON."""
    catalog = _catalog()
    try:
        p = catalog.procedure(code)
    except KeyError:
        known = code in catalog.procedures
        raise _fail(
            f"thủ tục {code} không có phiên bản nào đang có hiệu lực"
            if known
            else f"không có thủ tục {code} trong danh mục",
            1,
        ) from None
    typer.echo(p.model_dump_json(indent=2))


@procedures_app.command("validate")
def procedures_validate(
    directory: Annotated[Optional[Path], typer.Argument()] = None,  # noqa: UP045
    lang: Annotated[
        str, typer.Option("--lang", help="ngôn ngữ của các lỗi: vi (mặc định) hoặc en")
    ] = DEFAULT_LANG,
) -> None:
    """Kiểm tra một thư mục danh mục; mã thoát 1, kèm mọi lỗi tìm thấy."""
    reader: Lang = "en" if lang.lower().startswith("en") else "vi"
    catalog = _catalog(directory, reader)
    typer.echo(f"ok: {len(catalog.agencies)} cơ quan, {len(catalog.procedures)} thủ tục")


def _admin() -> CatalogAdmin:
    """The catalog administrator's service on the configured database (seeded from the
    shipped files when it holds no catalog yet)."""
    from services.catalog import CatalogAdmin, CatalogCache
    from store import repository
    from store.db import init_db, make_engine

    settings = _settings()
    engine = make_engine(settings.resolved_database_url)
    init_db(engine)
    repository.seed_catalog(engine, _catalog())
    return CatalogAdmin(engine, CatalogCache(engine))


@procedures_app.command("import")
def procedures_import(
    file: Path,
    by: Annotated[str, typer.Option(help="người nhập (ghi vào mỗi phiên bản mới)")] = "cli",
) -> None:
    """Nhập một tệp danh mục (docs/catalog.md: JSON, hoặc CSV nếu tên tệp đuôi .csv) vào cơ
    sở dữ liệu; in báo cáo dạng JSON; mã thoát 1 khi có bản ghi bị từ chối."""
    import json

    from domain.catalog_exchange import csv_to_records
    from services.catalog import CatalogRefused

    text = file.read_text(encoding="utf-8-sig")
    try:
        document = (
            {"procedures": csv_to_records(text)}
            if file.suffix.lower() == ".csv"
            else json.loads(text)
        )
        report = _admin().import_file(document, by)
    except (json.JSONDecodeError, CatalogRefused) as exc:
        raise _fail(f"{file}: {exc}", 2) from None
    typer.echo(report.model_dump_json(indent=2))
    if report.invalid:
        raise typer.Exit(1)


@procedures_app.command("export")
def procedures_export(
    csv: Annotated[bool, typer.Option("--csv", help="CSV thay cho JSON")] = False,
) -> None:
    """In danh mục trong cơ sở dữ liệu theo định dạng nhập (phiên bản mới nhất của mỗi thủ tục)."""
    import json

    from domain.catalog_exchange import records_to_csv

    doc = _admin().export()
    typer.echo(
        records_to_csv(doc["procedures"]) if csv else json.dumps(doc, ensure_ascii=False, indent=2)
    )
