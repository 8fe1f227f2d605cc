"""`motcua audit`: auditors' export, replay, integrity, timeline and delays."""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, Optional

import typer

from motcua.cli._common import TZ, _day, _fail, _parse_instant, _settings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from services.audit.service import Auditor, AuditService


audit_app = typer.Typer(
    help="Auditors: history export, replay, record integrity, timeline, delays.",
    no_args_is_help=True,
)
AS_OPTION = typer.Option("--as", help="the auditor's id, for the audit log (default: OS user)")


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
            typer.echo(f"note: Temporal not reachable ({exc}); using the archive", err=True)
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
    """Archive every closed dossier history Temporal still holds (the centre's worker
    also does this every MOTCUA_ARCHIVE_INTERVAL_SECONDS)."""
    from services.audit.archive import archive_closed

    service, _ = _auditing(None)

    async def main() -> int:
        s = await service()
        if s.client is None:
            raise _fail("Temporal is not reachable: nothing to archive from", 1)
        return await archive_closed(s.client, s.engine, s.store)

    typer.echo(f"archived {asyncio.run(main())} run(s)")


@audit_app.command("export")
def audit_export(
    code: str,
    out: Annotated[Optional[Path], typer.Option(help="file to write (default: stdout)")] = None,  # noqa: UP045
    who: Annotated[Optional[str], AS_OPTION] = None,  # noqa: UP045
) -> None:
    """Every run of a dossier's history as JSON, from Temporal or the archive."""
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
        typer.echo(f"wrote {out} ({len(data['runs'])} run(s))")  # type: ignore[arg-type]
    else:
        sys.stdout.write(text + "\n")


@audit_app.command("replay")
def audit_replay(
    code: Annotated[Optional[str], typer.Argument(help="one dossier")] = None,  # noqa: UP045
    procedure: Annotated[Optional[str], typer.Option(help="every dossier of a procedure")] = None,  # noqa: UP045
    since: Annotated[Optional[str], typer.Option(help="submitted on or after (YYYY-MM-DD)")] = None,  # noqa: UP045
    until: Annotated[Optional[str], typer.Option(help="submitted before (YYYY-MM-DD)")] = None,  # noqa: UP045
    who: Annotated[Optional[str], AS_OPTION] = None,  # noqa: UP045
    sandbox: Annotated[
        bool,
        typer.Option(
            help="replay in the workers' sandbox, which also refuses calls workflow code "
            "must not make (the check before a deployment); --no-sandbox checks the same "
            "commands several times faster (going through many dossiers)",
        ),
    ] = True,
    processes: Annotated[
        int,
        typer.Option(
            min=1, help="replay a bulk run's histories in this many processes (one per core)"
        ),
    ] = 1,
) -> None:
    """Replay histories against today's workflow code (exit 1 if any is not
    deterministic): one dossier, or all of a procedure and/or period."""
    from services.audit.archive import ArchiveTampered
    from services.audit.service import DossierReplay, NoHistory

    if code is None and procedure is None and since is None:
        raise _fail("give a dossier code, or --procedure and/or --since")
    if code is not None and (procedure or since or until or processes > 1):
        raise _fail(
            "give a dossier code, or --procedure/--since/--until, not both; --processes "
            "spreads a bulk run (one dossier's runs replay in this process)"
        )
    service, auditor = _auditing(who)

    start, end = _day(since), _day(until)

    def progress(i: int, n: int, result: DossierReplay | None, c: str) -> None:
        verdict = (
            "no history"
            if result is None
            else ("ok" if result.deterministic else "NOT DETERMINISTIC")
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
                    f"{code} run {run.run_id} ({run.source}, {run.events} events): "
                    + ("deterministic" if run.deterministic else f"NOT DETERMINISTIC: {run.error}")
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
            f"{report.checked} dossier(s) replayed: {report.deterministic} deterministic, "
            f"{len(report.failed)} not; {len(report.without_history)} without a history"
        )
        for failed in report.failed:
            for run in failed.runs:
                if not run.deterministic:
                    typer.echo(f"  {failed.dossier_code} run {run.run_id}: {run.error}")
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
        typer.Argument(help="one dossier; without it, the audit log's own hash chain"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the full report as JSON")] = False,
    who: Annotated[Optional[str], AS_OPTION] = None,  # noqa: UP045
) -> None:
    """Prove the read model's record is the workflow's (hash chain, event by event against
    the history) and check the signatures on the dossier's documents; without a dossier,
    prove the audit log is whole (its hash chain: no row edited, deleted or moved).
    Exit 1 if not."""
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
            f"{code}: {'INTACT' if report.intact else 'NOT INTACT'} — {r.events_in_read_model} "
            f"events in the read model, {r.events_in_history} in the history, "
            f"{r.chained_events} chained"
        )
        for p in r.problems:
            typer.echo(f"  {p.message}")
        for d in report.documents:
            v = d.verification
            state = d.problem or ("valid" if v and v.valid else "; ".join(v.problems if v else []))
            typer.echo(f"  document {d.form} ({d.title}): {state or 'unsigned'}")
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
        str | None, typer.Option(help="one instant (ISO 8601; local time if no offset)")
    ] = None,
    who: Annotated[Optional[str], AS_OPTION] = None,  # noqa: UP045
) -> None:
    """The dossier's state after each change, or as of one instant, from its history alone."""
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
            f"step due {st.step_due_at.astimezone(TZ):%d/%m %H:%M}"
            if st.step_due_at
            else f"{st.at.astimezone(TZ):%d/%m/%Y %H:%M}  {st.status.value:22} {step:50}"
        )
        extra = []
        if st.appointment_at:
            extra.append(f"appointment {st.appointment_at.astimezone(TZ):%d/%m/%Y %H:%M}")
        if st.clock_paused:
            extra.append("clock paused")
        if st.escalations:
            extra.append(f"{st.escalations} escalation(s)")
        if st.overdue:
            extra.append("OVERDUE")
        if extra:
            typer.echo("                   " + ", ".join(extra))


@audit_app.command("late")
def audit_late(
    code: Annotated[Optional[str], typer.Argument(help="one dossier")] = None,  # noqa: UP045
    since: Annotated[
        str | None, typer.Option(help="overdue dossiers submitted on/after (YYYY-MM-DD)")
    ] = None,
    until: Annotated[Optional[str], typer.Option(help="... and before (YYYY-MM-DD)")] = None,  # noqa: UP045
    who: Annotated[Optional[str], AS_OPTION] = None,  # noqa: UP045
) -> None:
    """Who was late for what: one dossier's steps planned against actual, or every
    overdue dossier of a period with the step, agency and officer that consumed the time."""
    from services.audit.archive import ArchiveTampered
    from services.audit.service import NoHistory

    service, auditor = _auditing(who)

    async def one(c: str) -> None:
        s = await service()
        report = await s.late(c)
        await s.log(auditor, "late", c, overdue=report.delay is not None)
        for r in report.steps:
            when = r.ended_at.astimezone(TZ).strftime("%d/%m %H:%M") if r.ended_at else "open"
            due = (
                r.planned_due_at.astimezone(TZ).strftime("%d/%m %H:%M") if r.planned_due_at else "-"
            )
            late = (
                f" LATE by {r.late_by_working_minutes} working min"
                if r.late_by_working_minutes
                else ""
            )
            typer.echo(
                f"{r.step_id:28} {r.agency:14} {r.officer_name or r.officer_id or '-':24} "
                f"due {due:11} done {when:11} {r.verdict or '-'}{late}"
            )
        if report.delay is None:
            typer.echo(f"{c}: not overdue")
        else:
            d = report.delay
            typer.echo(f"{c}: overdue by {d.overdue_by_working_minutes} working minutes")

    async def period() -> None:
        s = await service()
        found = await s.late_in_period(since=_day(since), until=_day(until))
        await s.log(auditor, "delays", None, since=since, until=until, found=len(found))
        for d in found:
            for c in d.culprits:
                typer.echo(
                    f"{d.dossier_code}  {d.procedure_code}  step {c.step_id} at {c.agency}, "
                    f"{c.officer_name or c.officer_id or 'nobody acted'}: "
                    f"late by {c.late_by_working_minutes} working min"
                )
        typer.echo(f"{len(found)} overdue dossier(s)")

    try:
        asyncio.run(one(code) if code else period())
    except (NoHistory, ArchiveTampered) as exc:
        raise _fail(str(exc), 1) from None
