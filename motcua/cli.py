"""`motcua`: the command line for operators, officers trying things out, and auditors."""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, Optional
from zoneinfo import ZoneInfo

import typer

from domain.calendar import VIETNAM_TZ, CalendarRangeError, Duration, TimeUnit
from domain.calendar_source import CalendarConfigError, build_calendar, load_overrides
from domain.catalog import CatalogError, load_catalog
from motcua.settings import Settings, SettingsError, get_settings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from motcua.audit.service import Auditor, AuditService

app = typer.Typer(
    help="motcua: durable one-stop dossier engine on Temporal.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
procedures_app = typer.Typer(help="The procedure catalog.", no_args_is_help=True)
history_app = typer.Typer(
    help="Workflow histories: export and replay (auditors).", no_args_is_help=True
)
pki_app = typer.Typer(
    help="Signing keys: the development CA, and what the key manifest holds.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="The read model's schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(procedures_app, name="procedures")
app.add_typer(history_app, name="history")
app.add_typer(pki_app, name="pki")
app.add_typer(db_app, name="db")
keys_app = typer.Typer(
    help="The key ring encrypting personal data in Temporal payloads (never printed).",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")

TZ = ZoneInfo(VIETNAM_TZ)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _settings() -> Settings:
    try:
        return get_settings()
    except SettingsError as exc:
        lines = "\n".join(f"  {line}" for line in str(exc).splitlines())
        raise _fail(f"invalid settings (see `motcua config --help`):\n{lines}") from None


@app.callback()
def main() -> None:
    """Every command starts by reading the settings: a wrong one stops it here (exit 2)."""
    _settings()


@app.command("config")
def config_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
    describe: Annotated[bool, typer.Option(help="each setting's meaning too")] = False,
) -> None:
    """Print the effective settings, as environment variables, with secrets masked.

    A '#' marks the values that come from defaults, not from the environment."""
    from motcua.settings import effective_settings

    rows = effective_settings(_settings())
    if as_json:
        typer.echo(json.dumps({r.env: r.value for r in rows}, indent=2, ensure_ascii=False))
        return
    width = min(max(len(r.env) + len(r.value) for r in rows) + 1, 64)
    for r in rows:
        line = f"{r.env}={r.value}"
        notes = [
            n for n in ("default" if r.default else "", r.description if describe else "") if n
        ]
        typer.echo(f"{line:<{width}}  # {'; '.join(notes)}" if notes else line)


def _parse_instant(value: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(
            f"--from: '{value}' is not an ISO 8601 date-time like 2025-01-20T10:00"
        ) from None
    return dt.replace(tzinfo=TZ) if dt.tzinfo is None else dt


def _day(value: str | None) -> datetime | None:
    """A YYYY-MM-DD option as the start of that day in Viet Nam (None stays None)."""
    if value is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(0), TZ)
    except ValueError:
        raise _fail(f"'{value}' is not a date (YYYY-MM-DD)") from None


def _parse_cutoff(value: str | None) -> time | None:
    if value is None:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise _fail(f"--cutoff: '{value}' is not a time like 15:00") from None


@app.command()
def deadline(
    start: Annotated[
        str, typer.Option("--from", help="receipt time, ISO 8601; naive = Asia/Ho_Chi_Minh")
    ],
    days: Annotated[Optional[float], typer.Option(help="statutory time in working days")] = None,  # noqa: UP045
    hours: Annotated[Optional[float], typer.Option(help="statutory time in working hours")] = None,  # noqa: UP045
    calendar_days: Annotated[
        float | None, typer.Option(help="statutory time in calendar days")
    ] = None,
    cutoff: Annotated[
        str | None, typer.Option(help="receipt cut-off, e.g. 15:00 (default: close of office)")
    ] = None,
    explain: Annotated[bool, typer.Option(help="also print how the date was counted")] = False,
) -> None:
    """Print the appointment (ngày hẹn trả kết quả) for a dossier received at --from."""
    given = [
        (v, u)
        for v, u in (
            (days, TimeUnit.WORKING_DAYS),
            (hours, TimeUnit.WORKING_HOURS),
            (calendar_days, TimeUnit.CALENDAR_DAYS),
        )
        if v is not None
    ]
    if len(given) != 1:
        raise _fail("give exactly one of --days, --hours, --calendar-days")
    value, unit = given[0]
    if value <= 0:
        raise _fail("the statutory time must be positive")
    received = _parse_instant(start)
    limit = _parse_cutoff(cutoff)
    settings = _settings()
    try:
        calendar = build_calendar(
            received.year - 1, received.year + 3, load_overrides(settings.calendar_overrides)
        )
        duration = Duration(value=value, unit=unit)
        appointment = calendar.appointment(received, duration, limit)
    except (CalendarConfigError, CalendarRangeError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(appointment.isoformat())
    if explain:
        effective = calendar.effective_receipt_day(received, limit)
        typer.echo(
            f"received {calendar.local(received).isoformat()}; counts as received on "
            f"{effective.isoformat()}; {duration} counted from "
            f"{calendar.counting_start(received, unit, limit).isoformat()}"
        )
        day = calendar.local(received).date()
        while day <= appointment.date():
            name = calendar.day_name(day)
            if name:
                typer.echo(
                    f"  {day.isoformat()} {'làm việc' if calendar.is_working_day(day) else 'nghỉ'}: {name}"
                )
            day = date.fromordinal(day.toordinal() + 1)


@app.command("calendar")
def calendar_cmd(year: int) -> None:
    """List the days off and make-up working days of a year (holidays package + overrides)."""
    settings = _settings()
    try:
        cal = build_calendar(year, year, load_overrides(settings.calendar_overrides))
    except CalendarConfigError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"# {cal.version}")
    for note in sorted((*cal.days_off, *cal.working_weekend_days), key=lambda n: n.day):
        kind = "working" if note in cal.working_weekend_days else "off"
        typer.echo(f"{note.day.isoformat()} {note.day:%a} {kind:7} {note.name}")


@procedures_app.command("list")
def procedures_list() -> None:
    """List the procedures in the catalog."""
    catalog = _catalog()
    for p in catalog.latest():
        typer.echo(f"{p.code}  v{p.version}  {p.statutory_time!s:22} {p.name}")


@procedures_app.command("show")
def procedures_show(code: str) -> None:
    """Show one procedure (latest version) as JSON."""
    catalog = _catalog()
    try:
        p = catalog.procedure(code)
    except KeyError as exc:
        raise _fail(str(exc.args[0]), 1) from None
    typer.echo(p.model_dump_json(indent=2))


@procedures_app.command("validate")
def procedures_validate(directory: Annotated[Optional[Path], typer.Argument()] = None) -> None:  # noqa: UP045
    """Validate a catalog directory; exit 1 with every problem listed."""
    catalog = _catalog(directory)
    typer.echo(f"ok: {len(catalog.agencies)} agencies, {len(catalog.procedures)} procedures")


def _catalog(directory: Path | None = None):  # type: ignore[no-untyped-def]
    try:
        return load_catalog(directory or _settings().catalog_dir)
    except CatalogError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


@app.command()
def worker(
    role: Annotated[str, typer.Argument(help="centre | agency | agencies | all")],
    agency: Annotated[
        list[str] | None, typer.Option(help="agency code (repeatable) for 'agency'")
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(help="for 'agencies': an agency (repeatable) served by its own workers"),
    ] = None,
) -> None:
    """Run workers until Ctrl-C or SIGTERM: the centre's (`centre`), the named agencies'
    (`agency --agency CODE`), every agency of the catalog but those excluded (`agencies
    --exclude CODE`), or the centre and every agency (`all`). Run as many processes of each
    as the load needs: processes on the same task queue share its work."""
    from motcua.stack import run_worker_process
    from motcua.telemetry import SERVICE_WORKER, setup_telemetry

    catalog = _catalog()
    named = list(agency or []) + list(exclude or [])
    unknown = [a for a in named if a not in catalog.agencies]
    if unknown:
        raise _fail(f"unknown agency {', '.join(unknown)}")
    if role == "centre":
        centre, agencies = True, []
    elif role == "agency":
        if not agency:
            raise _fail("give --agency CODE")
        centre, agencies = False, list(agency)
    elif role == "agencies":
        centre, agencies = False, sorted(set(catalog.agencies) - set(exclude or []))
    elif role == "all":
        centre, agencies = True, sorted(catalog.agencies)
    else:
        raise _fail("the worker role is one of: centre, agency, agencies, all")
    if exclude and role != "agencies":
        raise _fail("--exclude goes with the 'agencies' role")
    if agency and role != "agency":
        raise _fail("--agency goes with the 'agency' role")
    settings = _settings()
    setup_telemetry(settings, SERVICE_WORKER)
    asyncio.run(run_worker_process(settings, centre=centre, agencies=agencies))
    _exit_after_drain()


def _exit_after_drain() -> None:
    """Leave a process whose workers have drained without CPython's finalization: the
    Temporal SDK's Rust threads can outlive the event loop and make the interpreter abort
    (SIGABRT) while it finalizes (temporalio/sdk-python#300). What finalization would do
    that matters is done first: spans exported, logs and output flushed."""
    import logging
    import os

    from motcua.telemetry import tracer_provider

    tracer_provider().force_flush()
    tracer_provider().shutdown()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@app.command()
def dev(
    state_dir: Annotated[Optional[Path], typer.Option(help="local state folder")] = None,  # noqa: UP045
    temporal_port: Annotated[int, typer.Option(help="Temporal frontend port (UI on +1000)")] = 7233,
    api_port: Annotated[Optional[int], typer.Option(help="HTTP API port (default 8000)")] = None,  # noqa: UP045
    demo: Annotated[bool, typer.Option(help="walk one demo dossier at start")] = True,
    exit_after_demo: Annotated[
        bool, typer.Option(help="stop after the demo (for scripts)")
    ] = False,
) -> None:
    """Run the embedded stack: Temporal dev server, workers, API, demo dossier."""
    from motcua.devserver import DevServerError
    from motcua.stack import run_dev_stack
    from motcua.telemetry import SERVICE_DEV, setup_telemetry

    settings = _settings()
    updates: dict[str, object] = {}
    if state_dir is not None:
        updates["state_dir"] = state_dir.resolve()
    if api_port is not None:
        updates["api_port"] = api_port
    settings = settings.model_copy(update=updates)
    if settings.api_port in (temporal_port, temporal_port + 1000):
        raise _fail(
            f"--api-port {settings.api_port} is the Temporal dev server's "
            f"{'frontend' if settings.api_port == temporal_port else 'web UI'} port; choose another"
        )
    try:
        setup_telemetry(settings, SERVICE_DEV)
        asyncio.run(
            run_dev_stack(
                settings,
                temporal_port=temporal_port,
                demo=demo,
                stop_after_demo=exit_after_demo,
                say=typer.echo,
            )
        )
    except (DevServerError, OSError, RuntimeError) as exc:
        raise _fail(str(exc), 1) from None


@app.command()
def api(
    host: Annotated[Optional[str], typer.Option(help="listen address")] = None,  # noqa: UP045
    port: Annotated[Optional[int], typer.Option(help="listen port")] = None,  # noqa: UP045
) -> None:
    """Serve the HTTP API (migrations are applied first)."""
    import uvicorn

    from api.app import create_app
    from motcua.stack import proxy_options, read_model
    from motcua.telemetry import SERVICE_API, setup_telemetry

    settings = _settings()
    setup_telemetry(settings, SERVICE_API)
    engine = read_model(settings)  # applies migrations
    uvicorn.run(
        create_app(settings, engine=engine),
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level="info",
        **proxy_options(settings),
    )


@app.command()
def token(
    role: Annotated[list[str], typer.Option(help="role (repeatable)")],
    sub: Annotated[str, typer.Option(help="subject: the user's id")],
    agency: Annotated[Optional[str], typer.Option(help="agency code (officers)")] = None,  # noqa: UP045
    name: Annotated[str, typer.Option(help="display name")] = "",
    hours: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(help="validity in hours (default: MOTCUA_JWT_MAX_LIFETIME_SECONDS, 12 h)"),
    ] = None,
) -> None:
    """Print a development token (HS256) to stdout, and nothing else."""
    from datetime import timedelta

    from api.auth import issue_token
    from domain.catalog import Role

    try:
        roles = [Role(r) for r in role]
    except ValueError as exc:
        raise _fail(f"--role: {exc}") from None
    try:
        text = issue_token(
            _settings(),
            sub=sub,
            roles=roles,
            agency=agency,
            name=name,
            ttl=None if hours is None else timedelta(hours=hours),
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(text)


@app.command("demo")
def demo_cmd() -> None:
    """Walk one dossier through every step on an already running stack."""
    from motcua.demo import run_demo
    from motcua.service import DossierService
    from motcua.stack import read_model
    from motcua.temporal import connect

    async def main() -> None:
        settings = _settings()
        client = await connect(settings)
        await run_demo(
            DossierService(client, read_model(settings), _catalog(), settings), typer.echo
        )

    asyncio.run(main())


@app.command("state")
def state_cmd(code: str) -> None:
    """Print a dossier's live state (the workflow query) as JSON."""
    from motcua.service import DossierService, ServiceError
    from motcua.stack import read_model
    from motcua.temporal import connect

    async def main() -> str:
        settings = _settings()
        client = await connect(settings)
        service = DossierService(client, read_model(settings), _catalog(), settings)
        return (await service.state(code)).model_dump_json(indent=2)

    try:
        typer.echo(asyncio.run(main()))
    except ServiceError as exc:
        raise _fail(exc.message, 1) from None


@history_app.command("export")
def history_export(code: str, out: Annotated[Optional[Path], typer.Option()] = None) -> None:  # noqa: UP045
    """Write a dossier's workflow history as JSON, as Temporal holds it (payloads
    encrypted; `history replay` reads it with the key ring, `audit export` decrypts)."""
    from motcua.temporal import connect

    async def main() -> str:
        client = await connect(_settings())
        history = await client.get_workflow_handle(code).fetch_history()
        return history.to_json()

    text = asyncio.run(main())
    if out:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")
    else:
        sys.stdout.write(text + "\n")


@history_app.command("replay")
def history_replay(files: list[Path]) -> None:
    """Replay exported histories with today's workflow code; exit 1 on any divergence."""
    from temporalio.client import WorkflowHistory

    from motcua.audit.replay import replayer
    from motcua.temporal import data_converter

    settings = _settings()

    async def main() -> int:
        failures = 0
        for path in files:
            data = json.loads(path.read_text(encoding="utf-8"))
            result = await replayer(data_converter(settings)).replay_workflow(
                WorkflowHistory.from_json(path.stem, data), raise_on_replay_failure=False
            )
            if result.replay_failure:
                failures += 1
                typer.echo(f"FAIL {path}: {result.replay_failure}")
            else:
                typer.echo(f"ok   {path}")
        return failures

    if asyncio.run(main()):
        raise typer.Exit(1)


if __name__ == "__main__":
    app()


@pki_app.command("init")
def pki_init(
    force: Annotated[bool, typer.Option(help="make a new CA, replacing every key")] = False,
) -> None:
    """Create the development CA (root, intermediate), a seal for every agency of the
    catalog and a certificate for every demo signer, under state_dir/pki."""
    from motcua.stack import ensure_dev_pki

    settings = _settings()
    try:
        manifest = ensure_dev_pki(settings, _catalog(), force=force)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"key manifest: {manifest}")
    typer.echo(f"trust root:   {manifest.parent / 'root.pem'}")
    typer.echo(
        "verify a document outside motcua with: "
        f"pyhanko sign validate --no-revocation-check --trust {manifest.parent / 'root.pem'} FILE.pdf"
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the read model to the newest schema (what the API and workers do at start;
    run it as a one-shot job before a rolling upgrade)."""
    from store.db import MigrationError, current_revision, make_engine, migrate

    settings = _settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        before = current_revision(engine)
        migrate(engine)
        after = current_revision(engine)
    except MigrationError as exc:
        raise _fail(str(exc), 1) from None
    except Exception as exc:  # an unreachable server, wrong credentials
        raise _fail(f"cannot migrate the read model: {exc.__class__.__name__}: {exc}", 1) from None
    finally:
        engine.dispose()
    typer.echo(f"read model at revision {after}" + ("" if before == after else f" (was {before})"))


@db_app.command("current")
def db_current() -> None:
    """Print the read model's schema revision and the newest one this release ships;
    exit 1 when they differ."""
    from store.db import current_revision, head_revision, make_engine

    engine = make_engine(_settings().resolved_database_url)
    try:
        current = current_revision(engine)
    except Exception as exc:
        raise _fail(f"cannot read the read model: {exc.__class__.__name__}: {exc}", 1) from None
    finally:
        engine.dispose()
    head = head_revision()
    typer.echo(f"current: {current or '(empty)'}\nhead:    {head}")
    if current != head:
        raise typer.Exit(1)


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="target revision, e.g. 0003, or 'base'")],
    yes: Annotated[bool, typer.Option("--yes", help="no confirmation question")] = False,
) -> None:
    """Downgrade the read model to an earlier revision (to roll back a release). Columns
    and tables newer than the target are dropped with their data."""
    from alembic import command
    from alembic.util import CommandError

    from store.db import alembic_config

    url = _settings().resolved_database_url
    if not yes:
        typer.confirm(f"Downgrade the read model to {revision}, dropping newer data?", abort=True)
    try:
        command.downgrade(alembic_config(url), revision)
    except CommandError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"read model downgraded to {revision}")


@app.command("verify")
def verify_cmd(
    file: Annotated[Path, typer.Argument(help="the PDF to verify", exists=True, dir_okay=False)],
    trust: Annotated[
        Optional[list[Path]],  # noqa: UP045
        typer.Option(help="trust root PEM (repeatable; default: the key manifest's roots)"),
    ] = None,
    offline: Annotated[
        bool, typer.Option(help="check the signatures only, not the read model's record")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the full report as JSON")] = False,
) -> None:
    """Verify a signed PDF: signers, chain, untouched since signing, and whether it is
    a document motcua issued. Exit code 0 valid, 1 not valid."""
    from motcua.signing import KeyStore, load_trust_roots
    from motcua.verification import verify_document

    settings = _settings()
    if trust:
        roots = load_trust_roots(trust)
    elif settings.resolved_pki_manifest.is_file():
        roots = KeyStore.load(settings.resolved_pki_manifest).trust_roots
    else:
        raise _fail("no trust roots: give --trust ROOT.pem or run `motcua pki init`")
    engine = None
    if not offline:
        from motcua.stack import read_model

        engine = read_model(settings)
    result = verify_document(file.read_bytes(), roots, engine)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        typer.echo(f"{file}: {'VALID' if result.valid else 'NOT VALID'}")
        for sig in result.signatures.signatures:
            who = f"{sig.name or sig.subject} ({sig.kind or '?'}, {sig.agency_code or '?'})"
            typer.echo(
                f"  {sig.field_name}: {who}: intact={sig.intact} trusted={sig.trusted} "
                f"signed {sig.signing_time}"
                + (f", timestamp {sig.timestamp_time}" if sig.timestamp_time else "")
            )
        if result.dossier.recorded:
            typer.echo(
                f"  document {result.dossier.document_id} of dossier {result.dossier.dossier_code}"
            )
        for problem in result.problems:
            typer.echo(f"  problem: {problem}")
    raise typer.Exit(0 if result.valid else 1)


audit_app = typer.Typer(
    help="Auditors: history export, replay, record integrity, timeline, delays.",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")
AS_OPTION = typer.Option("--as", help="the auditor's id, for the audit log (default: OS user)")


def _auditing(who: str | None) -> tuple[Callable[[], Awaitable[AuditService]], Auditor]:
    """The audit service on this machine's settings, and who is asking."""
    import getpass

    from motcua.audit.service import Auditor, AuditService
    from motcua.docstore import open_document_store
    from motcua.signing import KeyStore
    from motcua.stack import read_model
    from motcua.temporal import connect, data_converter

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
    from motcua.audit.archive import archive_closed

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
    from motcua.audit.archive import ArchiveTampered
    from motcua.audit.service import NoHistory

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
    from motcua.audit.archive import ArchiveTampered
    from motcua.audit.service import DossierReplay, NoHistory

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
    from motcua.audit.service import DossierVerification, NoHistory

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
    from motcua.audit.integrity import AuditLogReport

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
    from motcua.audit.archive import ArchiveTampered
    from motcua.audit.service import NoHistory
    from motcua.audit.timeline import TimelineState, state_at, timeline

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
    from motcua.audit.archive import ArchiveTampered
    from motcua.audit.service import NoHistory

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


retention_app = typer.Typer(
    help="Records retention (archives law): which closed dossiers are past their period.",
    no_args_is_help=True,
)
app.add_typer(retention_app, name="retention")


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


FILE_OPTION = typer.Option(
    "--file",
    help="the key ring file (default: MOTCUA_PAYLOAD_KEYS_FILE, or in development "
    "state_dir/payload-keys.json); made if missing",
)


def _keyring_file(given: Path | None) -> Path:
    if given is not None:
        return given
    path = _settings().resolved_payload_keys_file
    if path is None:
        raise _fail(
            "the payload keys come from MOTCUA_PAYLOAD_KEYS: give the ring file to add to "
            "with --file"
        )
    return path


@keys_app.command("new")
def keys_new(
    current: Annotated[
        bool, typer.Option("--current", help="encrypt new payloads with it from now on")
    ] = False,
    key_id: Annotated[Optional[str], typer.Option("--id", help="its id (default: dated)")] = None,  # noqa: UP045
    file: Annotated[Optional[Path], FILE_OPTION] = None,  # noqa: UP045
) -> None:
    """Add a new random AES-256 key to the key ring file (made, with this key current, if
    missing). Rotation: add the key, restart every process so that all can read it, then
    make it current (`keys use`, or MOTCUA_PAYLOAD_KEY_ID) and restart again. Keep the old
    keys while any history (in Temporal or the archive) is under them. Prints the id only."""
    from motcua.codec import KeyRing, check_key_id, new_key, new_key_id, read_keyring, write_keyring

    path = _keyring_file(file)
    try:
        kid = check_key_id(key_id) if key_id else new_key_id()
        if path.exists():
            ring = read_keyring(path).with_key(kid, new_key(), current=current)
        else:
            ring = KeyRing(current=kid, keys={kid: new_key()})
    except ValueError as exc:
        raise _fail(str(exc)) from None
    write_keyring(path, ring)
    state = "current" if ring.current == kid else f"not current (current: {ring.current})"
    typer.echo(f"added key {kid} to {path}, {state}")


@keys_app.command("use")
def keys_use(key_id: str, file: Annotated[Optional[Path], FILE_OPTION] = None) -> None:  # noqa: UP045
    """Make a key of the ring file the current one (new payloads are encrypted with it)."""
    from motcua.codec import read_keyring, write_keyring

    path = _keyring_file(file)
    try:
        ring = read_keyring(path)
        if key_id not in ring.keys:
            raise ValueError(f"{path} has no key {key_id!r} (its keys: {', '.join(ring.ids)})")
    except ValueError as exc:
        raise _fail(str(exc)) from None
    write_keyring(path, ring.with_current(key_id))
    typer.echo(f"{key_id} is now the current key of {path}")


@keys_app.command("list")
def keys_list() -> None:
    """The ids of the keys in use (never the keys), the current one marked."""
    from motcua.codec import keyring_for

    try:
        ring = keyring_for(_settings())
    except ValueError as exc:
        raise _fail(str(exc)) from None
    for kid in ring.ids:
        typer.echo(f"{kid}{'  (current)' if kid == ring.current else ''}")
