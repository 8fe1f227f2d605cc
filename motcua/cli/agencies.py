"""`motcua agencies`: the agencies of the two-level local government, their validity and
successors (`list`), and mergers (`merge`: a merged commune's open dossiers move to its
successor). Both read the catalog the database holds (services/catalog.py), seeded from
the shipped files when it holds none yet."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from motcua.cli._common import TZ, _catalog, _fail, _settings
from motcua.cli._frame import OPTIONS_METAVAR, SUBCOMMAND_METAVAR

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from domain.catalog import Catalog

agencies_app = typer.Typer(
    options_metavar=OPTIONS_METAVAR,
    subcommand_metavar=SUBCOMMAND_METAVAR,
    help="Cơ quan của chính quyền địa phương hai cấp: hiệu lực, cơ quan kế thừa, sáp nhập.",
    no_args_is_help=True,
)


def _database() -> tuple[Engine, Catalog]:
    """The configured read model (migrated, seeded) and the catalog it holds."""
    from services.catalog import load_from_database
    from store import repository
    from store.db import init_db, make_engine

    engine = make_engine(_settings().resolved_database_url)
    init_db(engine)
    repository.seed_catalog(engine, _catalog())
    return engine, load_from_database(engine)


def _vn(day: date | None, none: str = "") -> str:
    return f"{day:%d/%m/%Y}" if day else none


@agencies_app.command("list")
def agencies_list(
    ended: Annotated[
        bool, typer.Option("--ended", help="chỉ các cơ quan đã thôi (hoặc chưa) hoạt động")
    ] = False,
) -> None:
    """Mọi cơ quan trong danh mục: mã, còn hoạt động hôm nay hay không, từ ngày nào đến hết
    ngày nào, cơ quan kế thừa, tên."""
    engine, catalog = _database()
    engine.dispose()
    today = datetime.now(TZ).date()
    typer.echo(f"{'mã':<15} {'hoạt động':<9} {'từ ngày':<10} {'đến hết':<10} {'kế thừa':<15} tên")
    for a in sorted(catalog.agencies.values(), key=lambda a: a.code):
        active = a.active_on(today)
        if ended and active:
            continue
        typer.echo(
            f"{a.code:<15} {'có' if active else 'không':<9} {_vn(a.valid_from, '-'):<10} "
            f"{_vn(a.valid_to, '-'):<10} {catalog.successor_of(a.code) or '-':<15} {a.name}"
        )


def _last_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(f"--last-day: '{value}' không phải một ngày (YYYY-MM-DD)") from None


@agencies_app.command("merge")
def agencies_merge(
    agency: Annotated[str, typer.Argument(help="cơ quan bị sáp nhập (mã cơ quan)")],
    into: Annotated[
        str | None,
        typer.Option(
            "--into", help="cơ quan kế thừa (mặc định: `successor` của cơ quan trong danh mục)"
        ),
    ] = None,
    last_day: Annotated[
        str | None,
        typer.Option(
            "--last-day",
            help="YYYY-MM-DD: ngày cuối cùng cơ quan hoạt động (theo nghị quyết sáp nhập), ghi "
            "vào danh mục cùng cơ quan kế thừa; từ ngày hôm sau không tiếp nhận hồ sơ mới, "
            "không trả kết quả",
        ),
    ] = None,
    decision: Annotated[
        str, typer.Option("--decision", help="nghị quyết sáp nhập, ghi vào từng hồ sơ")
    ] = "",
    operator: Annotated[
        str, typer.Option("--operator", help="người thực hiện sáp nhập (ghi là người thao tác)")
    ] = "admin",
) -> None:
    """Chuyển phần việc còn lại tại AGENCY của mọi hồ sơ đang xử lý sang cơ quan kế thừa: mỗi
    hồ sơ một sự kiện `agency_moved`, giữ nguyên lịch sử, không đổi trung tâm tiếp nhận; hồ
    sơ đang chuyển đến AGENCY mà chưa được xác nhận thì được gửi sang cơ quan kế thừa. Chạy
    lại an toàn: hồ sơ đã chuyển được giữ nguyên. Mã thoát 1 khi có hồ sơ không chuyển được."""
    from domain.catalog import Role
    from domain.dossier import Actor
    from infra.temporal import connect
    from services.mergers import MergeRefused, MergeReport, merge_agency

    settings = _settings()
    actor = Actor(id=operator, name=operator, role=Role.ADMIN)
    last = _last_day(last_day)

    async def main() -> MergeReport:
        engine, catalog = await asyncio.to_thread(_database)
        try:
            client = await connect(settings)
            return await merge_agency(
                client,
                engine,
                catalog,
                agency,
                into,
                actor=actor,
                decision=decision,
                last_day=last,
            )
        finally:
            engine.dispose()

    try:
        report = asyncio.run(main())
    except MergeRefused as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"{report.from_agency} -> {report.to_agency}")
    if last is not None:
        typer.echo(f"{report.from_agency} hoạt động đến hết ngày {last:%d/%m/%Y}")
    for code in report.moved:
        typer.echo(f"đã chuyển       {code}")
    for code in report.nothing_left:
        typer.echo(f"không còn việc  {code}")
    for code, reason in report.failed.items():
        typer.echo(f"KHÔNG CHUYỂN ĐƯỢC {code}: {reason}")
    typer.echo(
        f"{len(report.moved)} hồ sơ đã chuyển, {len(report.nothing_left)} không còn việc tại "
        f"{report.from_agency}, {len(report.failed)} không chuyển được"
    )
    if report.failed:
        raise typer.Exit(1)
