"""`motcua audit`: auditors' export, replay, integrity, timeline and delays."""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, Optional

import typer

from domain.vietnamese import VERDICTS
from motcua.cli._common import TZ, _day, _fail, _parse_instant, _settings
from motcua.cli._frame import OPTIONS_METAVAR, SUBCOMMAND_METAVAR

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from services.audit.service import Auditor, AuditService


audit_app = typer.Typer(
    options_metavar=OPTIONS_METAVAR,
    subcommand_metavar=SUBCOMMAND_METAVAR,
    help="Dành cho kiểm tra viên: xuất lịch sử, phát lại, tính toàn vẹn của hồ sơ, diễn biến, "
    "chậm trễ.",
    no_args_is_help=True,
)
AS_OPTION = typer.Option(
    "--as",
    help="mã của kiểm tra viên, ghi vào nhật ký kiểm tra (mặc định: người dùng hệ điều hành)",
)


def _auditing(who: str | None) -> tuple[Callable[[], Awaitable[AuditService]], Auditor]:
    """The audit service on this machine's settings, and who is asking."""
    import getpass

    from infra.docstore import open_document_store
    from infra.temporal import connect, data_converter
    from motcua.stack import read_model
    from services.audit.service import Auditor, AuditService
    from signatures.signing import KeyStore

    settings = _settings()
    engine = read_model(settings)
    manifest = settings.resolved_pki_manifest
    roots = KeyStore.load(manifest).trust_roots if manifest.is_file() else []
    converter = data_converter(settings)  # also reads the archive when Temporal is away

    async def service() -> AuditService:
        client = None
        try:
            client = await asyncio.wait_for(connect(settings), timeout=5)
        except Exception as exc:  # Temporal away: the archive still answers
            typer.echo(f"lưu ý: không kết nối được Temporal ({exc}); dùng kho lưu trữ", err=True)
        return AuditService(
            client,
            engine,
            open_document_store(settings.resolved_document_store),
            roots,
            converter,
            converter_factory=functools.partial(data_converter, settings),
        )

    auditor = Auditor(id=who or f"os:{getpass.getuser()}", application="cli")
    return service, auditor


@audit_app.command("archive")
def audit_archive() -> None:
    """Lưu trữ mọi lịch sử hồ sơ đã kết thúc mà Temporal còn giữ (worker của trung tâm
    cũng làm việc này mỗi MOTCUA_ARCHIVE_INTERVAL_SECONDS giây)."""
    from services.audit.archive import archive_closed

    service, _ = _auditing(None)

    async def main() -> int:
        s = await service()
        if s.client is None:
            raise _fail("không kết nối được Temporal: không có gì để lưu trữ", 1)
        return await archive_closed(s.client, s.engine, s.store)

    typer.echo(f"đã lưu trữ {asyncio.run(main())} lần chạy")


@audit_app.command("export")
def audit_export(
    code: str,
    out: Annotated[Optional[Path], typer.Option(help="tệp để ghi (mặc định: stdout)")] = None,  # noqa: UP045
    who: Annotated[Optional[str], AS_OPTION] = None,  # noqa: UP045
) -> None:
    """Mọi lần chạy trong lịch sử của một hồ sơ, dạng JSON, lấy từ Temporal hoặc kho lưu trữ."""
    from services.audit.archive import ArchiveTampered
    from services.audit.service import NoHistory

    service, auditor = _auditing(who)

    async def main() -> dict[str, object]:
        s = await service()
        data = await s.export(code)
        await s.log(auditor, "history", code, runs=len(data["runs"]))
        return data

    try:
        data = asyncio.run(main())
    except (NoHistory, ArchiveTampered) as exc:
        raise _fail(str(exc), 1) from None
    text = json.dumps(data, ensure_ascii=False, indent=1)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"đã ghi {out} ({len(data['runs'])} lần chạy)")  # type: ignore[arg-type]
    else:
        sys.stdout.write(text + "\n")


@audit_app.command("replay")
def audit_replay(
    code: Annotated[Optional[str], typer.Argument(help="một hồ sơ")] = None,  # noqa: UP045
    procedure: Annotated[Optional[str], typer.Option(help="mọi hồ sơ của một thủ tục")] = None,  # noqa: UP045
    since: Annotated[Optional[str], typer.Option(help="nộp từ ngày (YYYY-MM-DD)")] = None,  # noqa: UP045
    until: Annotated[Optional[str], typer.Option(help="nộp trước ngày (YYYY-MM-DD)")] = None,  # noqa: UP045
    who: Annotated[Optional[str], AS_OPTION] = None,  # noqa: UP045
    sandbox: Annotated[
        bool,
        typer.Option(
            help="phát lại trong sandbox của worker, nơi các lời gọi mà mã workflow không "
            "được phép thực hiện cũng bị từ chối (kiểm tra trước khi triển khai); --no-sandbox "
            "kiểm tra cùng các lệnh nhanh hơn nhiều lần (khi duyệt nhiều hồ sơ)",
        ),
    ] = True,
    processes: Annotated[
        int,
        typer.Option(
            min=1, help="phát lại hàng loạt bằng chừng này tiến trình (mỗi lõi CPU một tiến trình)"
        ),
    ] = 1,
) -> None:
    """Phát lại lịch sử với mã workflow hiện tại (mã thoát 1 nếu có lịch sử không tất
    định): một hồ sơ, hoặc mọi hồ sơ của một thủ tục và/hoặc một khoảng thời gian."""
    from services.audit.archive import ArchiveTampered
    from services.audit.service import DossierReplay, NoHistory

    if code is None and procedure is None and since is None:
        raise _fail("cần một mã hồ sơ, hoặc --procedure và/hoặc --since")
    if code is not None and (procedure or since or until or processes > 1):
        raise _fail(
            "cần một mã hồ sơ, hoặc --procedure/--since/--until, không dùng cả hai; --processes "
            "chia một lần chạy hàng loạt (các lần chạy của một hồ sơ được phát lại trong tiến "
            "trình này)"
        )
    service, auditor = _auditing(who)

    start, end = _day(since), _day(until)

    def progress(i: int, n: int, result: DossierReplay | None, c: str) -> None:
        verdict = (
            "không có lịch sử"
            if result is None
            else ("ok" if result.deterministic else "KHÔNG TẤT ĐỊNH (NOT DETERMINISTIC)")
        )
        typer.echo(f"[{i}/{n}] {c}: {verdict}", err=True)

    async def main() -> bool:
        s = await service()
        if code is not None:
            result = await s.replay(code, sandboxed=sandbox)
            await s.log(
                auditor, "replay", code, deterministic=result.deterministic, sandboxed=sandbox
            )
            for run in result.runs:
                typer.echo(
                    f"{code} lần chạy {run.run_id} ({run.source}, {run.events} sự kiện): "
                    + (
                        "tất định (deterministic)"
                        if run.deterministic
                        else f"KHÔNG TẤT ĐỊNH (NOT DETERMINISTIC): {run.error}"
                    )
                )
            return result.deterministic
        report = await s.replay_many(
            procedure=procedure,
            since=start,
            until=end,
            progress=progress,
            sandboxed=sandbox,
            processes=processes,
        )
        await s.log(
            auditor,
            "replay",
            None,
            sandboxed=sandbox,
            procedure=procedure,
            since=since,
            until=until,
            checked=report.checked,
            failed=[f.dossier_code for f in report.failed],
        )
        typer.echo(
            f"đã phát lại {report.checked} hồ sơ: {report.deterministic} tất định, "
            f"{len(report.failed)} không; {len(report.without_history)} không có lịch sử"
        )
        for failed in report.failed:
            for run in failed.runs:
                if not run.deterministic:
                    typer.echo(f"  {failed.dossier_code} lần chạy {run.run_id}: {run.error}")
        for message in report.tampered:
            typer.echo(f"  {message}")
        return not report.failed and not report.tampered

    try:
        ok = asyncio.run(main())
    except (NoHistory, ArchiveTampered) as exc:
        raise _fail(str(exc), 1) from None
    raise typer.Exit(0 if ok else 1)


@audit_app.command("verify")
def audit_verify(
    code: Annotated[
        Optional[str],  # noqa: UP045
        typer.Argument(help="một hồ sơ; không có: chuỗi băm của chính nhật ký kiểm tra"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="toàn bộ báo cáo dạng JSON")] = False,
    who: Annotated[Optional[str], AS_OPTION] = None,  # noqa: UP045
) -> None:
    """Chứng minh hồ sơ trong dữ liệu đọc đúng là của workflow (chuỗi băm, đối chiếu từng
    sự kiện với lịch sử) và kiểm tra chữ ký trên các văn bản của hồ sơ; không nêu hồ sơ:
    chứng minh nhật ký kiểm tra còn nguyên vẹn (chuỗi băm: không dòng nào bị sửa, xóa hay
    di chuyển). Mã thoát 1 nếu không."""
    from services.audit.service import DossierVerification, NoHistory

    service, auditor = _auditing(who)
    if code is None:
        _verify_audit_log(service, auditor, as_json)

    async def main() -> DossierVerification:
        s = await service()
        report = await s.verify(code)
        await s.log(auditor, "verify", code, intact=report.intact)
        return report

    try:
        report = asyncio.run(main())
    except NoHistory as exc:
        raise _fail(str(exc), 1) from None
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        r = report.record
        typer.echo(
            f"{code}: {'NGUYÊN VẸN (INTACT)' if report.intact else 'KHÔNG NGUYÊN VẸN (NOT INTACT)'}"
            f" — {r.events_in_read_model} sự kiện trong dữ liệu đọc, {r.events_in_history} trong "
            f"lịch sử, {r.chained_events} trong chuỗi băm"
        )
        for p in r.problems:
            typer.echo(f"  {p.message}")
        for d in report.documents:
            v = d.verification
            state = d.problem or ("hợp lệ" if v and v.valid else "; ".join(v.problems if v else []))
            typer.echo(f"  văn bản {d.form} ({d.title}): {state or 'chưa ký'}")
    raise typer.Exit(0 if report.intact else 1)


def _verify_audit_log(
    service: Callable[[], Awaitable[AuditService]], auditor: Auditor, as_json: bool
) -> NoReturn:
    """`motcua audit verify` without a dossier: the audit log's chain; exits."""
    from services.audit.integrity import AuditLogReport

    async def main() -> AuditLogReport:
        s = await service()
        report = await s.verify_log()
        await s.log(auditor, "verify_audit_log", None, intact=report.intact)
        return report

    report = asyncio.run(main())
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        typer.echo(
            f"audit_log: {'NGUYÊN VẸN' if report.intact else 'KHÔNG NGUYÊN VẸN'} — "
            f"{report.rows} dòng, {report.chained_rows} dòng trong chuỗi băm"
        )
        for p in report.problems:
            typer.echo(f"  {p.message}")
    raise typer.Exit(0 if report.intact else 1)


@audit_app.command("timeline")
def audit_timeline(
    code: str,
    at: Annotated[
        str | None, typer.Option(help="một thời điểm (ISO 8601; không có múi giờ: giờ Việt Nam)")
    ] = None,
    who: Annotated[Optional[str], AS_OPTION] = None,  # noqa: UP045
) -> None:
    """Trạng thái của hồ sơ sau mỗi thay đổi, hoặc tại một thời điểm, chỉ từ lịch sử của nó."""
    from services.audit.archive import ArchiveTampered
    from services.audit.service import NoHistory
    from services.audit.timeline import TimelineState, state_at, timeline

    instant = _parse_instant(at) if at else None
    service, auditor = _auditing(who)

    async def main() -> list[TimelineState]:
        s = await service()
        record = await s.record(code)
        await s.log(auditor, "timeline", code, at=instant.isoformat() if instant else None)
        return [state_at(record, instant)] if instant else timeline(record)

    try:
        states = asyncio.run(main())
    except (NoHistory, ArchiveTampered, ValueError) as exc:
        raise _fail(str(exc), 1) from None
    for st in states:
        step = f"{st.step_id} ({st.holder_role.value if st.holder_role else '-'} @ {st.holder_agency or '-'})"
        typer.echo(
            f"{st.at.astimezone(TZ):%d/%m/%Y %H:%M}  {st.status.value:22} {step:50} "
            f"hạn bước {st.step_due_at.astimezone(TZ):%d/%m %H:%M}"
            if st.step_due_at
            else f"{st.at.astimezone(TZ):%d/%m/%Y %H:%M}  {st.status.value:22} {step:50}"
        )
        extra = []
        if st.appointment_at:
            extra.append(f"ngày hẹn {st.appointment_at.astimezone(TZ):%d/%m/%Y %H:%M}")
        if st.clock_paused:
            extra.append("thời hạn tạm dừng")
        if st.escalations:
            extra.append(f"{st.escalations} cảnh báo")
        if st.overdue:
            extra.append("QUÁ HẠN")
        if extra:
            typer.echo("                   " + ", ".join(extra))


@audit_app.command("late")
def audit_late(
    code: Annotated[Optional[str], typer.Argument(help="một hồ sơ")] = None,  # noqa: UP045
    since: Annotated[
        str | None, typer.Option(help="hồ sơ quá hạn nộp từ ngày (YYYY-MM-DD)")
    ] = None,
    until: Annotated[Optional[str], typer.Option(help="... và trước ngày (YYYY-MM-DD)")] = None,  # noqa: UP045
    who: Annotated[Optional[str], AS_OPTION] = None,  # noqa: UP045
) -> None:
    """Ai chậm ở việc gì: các bước của một hồ sơ theo kế hoạch và thực tế, hoặc mọi hồ sơ
    quá hạn trong một khoảng thời gian cùng bước, cơ quan và cán bộ đã dùng hết thời gian."""
    from services.audit.archive import ArchiveTampered
    from services.audit.service import NoHistory

    service, auditor = _auditing(who)

    async def one(c: str) -> None:
        s = await service()
        report = await s.late(c)
        await s.log(auditor, "late", c, overdue=report.delay is not None)
        for r in report.steps:
            when = r.ended_at.astimezone(TZ).strftime("%d/%m %H:%M") if r.ended_at else "chưa xong"
            due = (
                r.planned_due_at.astimezone(TZ).strftime("%d/%m %H:%M") if r.planned_due_at else "-"
            )
            late = (
                f" TRỄ {r.late_by_working_minutes} phút làm việc"
                if r.late_by_working_minutes
                else ""
            )
            typer.echo(
                f"{r.step_id:28} {r.agency:14} {r.officer_name or r.officer_id or '-':24} "
                f"hạn {due:11} xong {when:11} {VERDICTS.get(r.verdict or '', '-')}{late}"
            )
        if report.delay is None:
            typer.echo(f"{c}: không quá hạn")
        else:
            d = report.delay
            typer.echo(f"{c}: quá hạn {d.overdue_by_working_minutes} phút làm việc")

    async def period() -> None:
        s = await service()
        found = await s.late_in_period(since=_day(since), until=_day(until))
        await s.log(auditor, "delays", None, since=since, until=until, found=len(found))
        for d in found:
            for c in d.culprits:
                typer.echo(
                    f"{d.dossier_code}  {d.procedure_code}  bước {c.step_id} tại {c.agency}, "
                    f"{c.officer_name or c.officer_id or 'chưa ai xử lý'}: "
                    f"trễ {c.late_by_working_minutes} phút làm việc"
                )
        typer.echo(f"{len(found)} hồ sơ quá hạn")

    try:
        asyncio.run(one(code) if code else period())
    except (NoHistory, ArchiveTampered) as exc:
        raise _fail(str(exc), 1) from None
