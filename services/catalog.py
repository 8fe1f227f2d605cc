"""The catalog as managed data (docs/catalog.md): the database holds every procedure
version, drafts and published ones; the shipped YAML is its seed. The API and the workers
hold the published catalog in memory (`CatalogCache`) and reload it when the database's
catalog changes; the catalog administrator drafts, checks, previews and publishes versions
(`CatalogAdmin`), and imports and exports the whole catalog.

A version published with a future effective date is in the catalog at once, and
`Catalog.procedure(code, on=day of receipt)` picks it from that day on: it takes effect
by itself, with no restart. A dossier carries the version it was received under in its
workflow input, so publishing never changes a running dossier.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time as clock
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Engine

from domain.calendar import TimeUnit, WorkingCalendar
from domain.catalog import (
    Agency,
    Catalog,
    Procedure,
    describe_errors,
)
from domain.catalog_admin import Change, diff_versions, reference_problems, version_problems
from domain.catalog_exchange import (
    FORMAT,
    Decision,
    Publication,
    definition_to_record,
    field_in_record,
    record_to_definition,
)
from domain.i18n import Catalogue
from store import repository
from store.models import ProcedureRow

log = logging.getLogger(__name__)
TZ = ZoneInfo("Asia/Ho_Chi_Minh")

T = Catalogue(
    {
        "no_procedure": ("Không có thủ tục {code}", "no procedure {code}"),
        "no_version": (
            "Thủ tục {code} không có phiên bản {version}",
            "procedure {code} has no version {version}",
        ),
        "not_draft": (
            "Phiên bản {version} của thủ tục {code} đã công bố: không sửa được, hãy soạn phiên bản mới",
            "version {version} of procedure {code} is published: draft a new version instead",
        ),
        "not_valid": (
            "Phiên bản chưa hợp lệ, chưa công bố được: {problems}",
            "the version is not valid and cannot be published: {problems}",
        ),
        "effective_past": (
            "effective_from: ngày có hiệu lực {day} đã qua (sớm nhất là hôm nay, {today})",
            "effective_from: {day} is past (today, {today}, at the earliest)",
        ),
        "bad_text": ("Nội dung không đọc được: {reason}", "the text cannot be read: {reason}"),
        "not_object": (
            "Nội dung phải là một đối tượng (các trường của thủ tục)",
            "the text must be an object (the procedure's fields)",
        ),
        "bad_moment": (
            "moments.{i}: thời điểm phải có múi giờ hoặc là giờ Việt Nam",
            "moments.{i}: a moment needs a time zone or is read as Vietnam time",
        ),
        "bad_file": ("Tệp nhập: {reason}", "import file: {reason}"),
    },
    "catalog",
)


class CatalogRefused(Exception):
    """A catalog request refused: `code` is not_found, invalid or conflict."""

    def __init__(self, code: str, message: Any) -> None:
        self.code, self.text = code, message
        super().__init__(str(message))


# --------------------------------------------------------------------------- reading


def load_from_database(engine: Engine) -> Catalog:
    """The published catalog as the database holds it. Each version was checked when it
    was published; one the code no longer reads is left out and logged, not fatal."""
    agencies = {a.code: repository.agency_from_row(a) for a in repository.list_agencies(engine)}
    grouped: dict[str, list[Procedure]] = {}
    for row in repository.published_procedures(engine):
        try:
            p = Procedure.model_validate(row.definition)
        except ValidationError as exc:
            log.error("catalog: %s v%s unreadable: %s", row.code, row.version, exc)
            continue
        grouped.setdefault(p.code, []).append(p)
    return Catalog(agencies=agencies, procedures=grouped)


class CatalogCache:
    """The published catalog in memory, reloaded when the database's catalog revision
    changes (checked every `interval` seconds, and at once after this process publishes)."""

    def __init__(
        self, engine: Engine, interval: float = 5.0, initial: Catalog | None = None
    ) -> None:
        """`initial`: the catalog just written to the database (held as it is, until the
        database's catalog changes); None: read it from the database."""
        self.engine, self.interval = engine, interval
        self._revision = repository.catalog_revision(engine)
        self._catalog = initial or load_from_database(engine)
        self._checked = clock.monotonic()
        self._listeners: list[Callable[[Catalog], None]] = []
        self._lock = threading.Lock()

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    def on_change(self, listener: Callable[[Catalog], None]) -> None:
        self._listeners.append(listener)

    def refresh(self) -> bool:
        """Reload when the catalog changed in the database; True when it did."""
        with self._lock:
            self._checked = clock.monotonic()
            revision = repository.catalog_revision(self.engine)
            if revision == self._revision:
                return False
            self._catalog = load_from_database(self.engine)
            self._revision = revision
        log.info("catalog reloaded: %s procedures", len(self._catalog.procedures))
        for listener in self._listeners:
            listener(self._catalog)
        return True

    def adopt(self, procedures: list[Procedure], agencies: list[Agency]) -> None:
        """Take in versions and agencies this process just wrote (published, imported)
        without reading the whole catalog again; other processes reload it."""
        with self._lock:
            grouped = {code: list(vs) for code, vs in self._catalog.procedures.items()}
            for p in procedures:
                versions = [v for v in grouped.get(p.code, []) if v.version != p.version]
                grouped[p.code] = sorted([*versions, p], key=lambda v: v.version)
            merged = {**self._catalog.agencies, **{a.code: a for a in agencies}}
            self._catalog = Catalog.model_construct(agencies=merged, procedures=grouped)
            self._revision = repository.catalog_revision(self.engine)
            self._checked = clock.monotonic()
        for listener in self._listeners:
            listener(self._catalog)

    def current(self) -> Catalog:
        """The catalog, checked against the database first when `interval` has passed
        (for a worker's threads; the API refreshes in the background instead)."""
        if clock.monotonic() - self._checked >= self.interval:
            try:
                self.refresh()
            except Exception:  # a database outage keeps the catalog held
                log.exception("catalog: refresh failed")
        return self._catalog

    def refresh_in_background(self) -> threading.Event:
        """Refresh every `interval` seconds in a daemon thread (a worker's process) until
        the returned event is set."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(self.interval):
                try:
                    self.refresh()
                except Exception:
                    log.exception("catalog: refresh failed")

        threading.Thread(target=loop, name="catalog-refresh", daemon=True).start()
        return stop

    async def keep_fresh(self) -> None:
        """Refresh every `interval` seconds until cancelled (the API's lifespan)."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                await asyncio.to_thread(self.refresh)
            except Exception:
                log.exception("catalog: refresh failed")


# --------------------------------------------------------------------------- administering


@dataclass
class VersionInfo:
    code: str
    version: int
    status: str  # draft | published
    name: str
    effective_from: date
    effective_to: date | None
    boundary_free: bool
    decision: Decision | None
    drafted_from: int | None
    drafted_by: str | None
    published_by: str | None
    published_at: datetime | None
    # For a published version, on `today`: in_force, scheduled (from a later day),
    # superseded (a later version is in force) or expired.
    state: str
    definition: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class PreviewStep:
    step_id: str
    name: str
    budget: str
    starts_at: datetime
    due_at: datetime


@dataclass(frozen=True)
class PreviewRow:
    received_at: datetime
    counted_from: datetime  # where the statutory clock starts (the next working day...)
    appointment: datetime
    steps: list[PreviewStep]
    days_off: list[tuple[date, str]]  # the named days off between receipt and appointment


class ImportReport(BaseModel):
    """What an import did: the codes created, the new versions, how many were the same,
    and every record refused with its problems (by its place in the file and its code)."""

    created: list[str] = []
    new_versions: list[dict[str, Any]] = []
    unchanged: list[str] = []
    invalid: list[dict[str, Any]] = []
    agencies: int = 0
    seconds: float = 0.0


def _publication(row: ProcedureRow) -> Decision | None:
    if not row.decision_number or row.decision_date is None:
        return None
    return Decision(
        number=row.decision_number,
        date=row.decision_date.isoformat(),
        signer=row.decision_signer or "—",
    )


def _infos(rows: list[ProcedureRow], today: date) -> list[VersionInfo]:
    """One procedure's versions (rows oldest first) with their state on `today`."""
    published = [r for r in rows if r.status == "published"]
    in_force = None
    for r in reversed(published):
        if r.effective_from <= today and (r.effective_to is None or today <= r.effective_to):
            in_force = r.version
            break
    out = []
    for r in rows:
        if r.status == "draft":
            state = "draft"
        elif r.version == in_force:
            state = "in_force"
        elif r.effective_from > today:
            state = "scheduled"
        elif r.effective_to is not None and r.effective_to < today:
            state = "expired"
        else:
            state = "superseded"
        out.append(
            VersionInfo(
                code=r.code,
                version=r.version,
                status=r.status,
                name=r.name,
                effective_from=r.effective_from,
                effective_to=r.effective_to,
                boundary_free=r.boundary_free,
                decision=_publication(r),
                drafted_from=r.drafted_from,
                drafted_by=r.drafted_by,
                published_by=r.published_by,
                published_at=r.published_at,
                state=state,
                definition=r.definition,
            )
        )
    return out


def _today() -> date:
    return datetime.now(UTC).astimezone(TZ).date()


class CatalogAdmin:
    """What the catalog administrator does (api/routes/catalog.py, the /ui/catalog pages,
    `motcua catalog import|export`)."""

    def __init__(
        self,
        engine: Engine,
        cache: CatalogCache | None,
        calendar_for: Callable[[int], WorkingCalendar] | None = None,
    ) -> None:
        self.engine, self.cache, self.calendar_for = engine, cache, calendar_for

    @property
    def catalog(self) -> Catalog:
        return self.cache.catalog if self.cache else load_from_database(self.engine)

    def _changed(self, procedures: list[Procedure], agencies: list[Agency] | None = None) -> None:
        if self.cache:
            self.cache.adopt(procedures, agencies or [])

    # -- reading -------------------------------------------------------------------

    def versions(self, code: str, today: date | None = None) -> list[VersionInfo]:
        rows = repository.procedure_versions(self.engine, code)
        if not rows:
            raise CatalogRefused("not_found", T("no_procedure", code=code))
        return _infos(rows, today or _today())

    def overview(self, today: date | None = None) -> dict[str, list[VersionInfo]]:
        """Every procedure's versions, drafts too, in one read (the catalog's list page)."""
        grouped: dict[str, list[ProcedureRow]] = {}
        for row in repository.list_procedures(self.engine):  # by code, then version
            grouped.setdefault(row.code, []).append(row)
        day = today or _today()
        return {code: _infos(rows, day) for code, rows in grouped.items()}

    def version(self, code: str, version: int) -> VersionInfo:
        for v in self.versions(code):
            if v.version == version:
                return v
        raise CatalogRefused("not_found", T("no_version", code=code, version=version))

    def _draft(self, code: str, version: int) -> VersionInfo:
        v = self.version(code, version)
        if v.status != "draft":
            raise CatalogRefused("conflict", T("not_draft", code=code, version=version))
        return v

    # -- drafting ------------------------------------------------------------------

    def draft(self, code: str, actor: str, now: datetime | None = None) -> VersionInfo:
        """A new version copied from the latest published one (the open draft, when one
        is open already: one draft at a time)."""
        versions = self.versions(code)
        drafts = [v for v in versions if v.status == "draft"]
        if drafts:
            return drafts[-1]
        base = [v for v in versions if v.status == "published"][-1]
        number = max(v.version for v in versions) + 1
        definition = {**base.definition, "version": number}
        p = Procedure.model_validate(definition)
        row = repository.procedure_values(
            p,
            status="draft",
            boundary_free=base.boundary_free,
            drafted_from=base.version,
            drafted_by=actor,
            drafted_at=now or datetime.now(UTC),
        )
        repository.save_procedure_versions(self.engine, [row])
        return self.version(code, number)

    def save(
        self, code: str, version: int, definition: Any, boundary_free: bool | None = None
    ) -> list[str]:
        """Replace a draft's definition (kept even while invalid: a draft is work in
        progress); returns its problems."""
        draft = self._draft(code, version)
        if not isinstance(definition, dict):
            raise CatalogRefused("invalid", T("not_object"))
        flag = draft.boundary_free if boundary_free is None else boundary_free
        problems = self.problems(code, version, definition)
        try:
            p = Procedure.model_validate(definition)
        except ValidationError:
            p = None
        if p is not None and p.code == code and p.version == version:
            row = repository.procedure_values(p, boundary_free=flag)
            row["definition"] = definition | row["definition"]
        else:
            old = repository.procedure_values(Procedure.model_validate(draft.definition))
            row = {**old, "definition": definition, "boundary_free": flag}
        repository.save_procedure_versions(self.engine, [row])
        return problems

    def discard(self, code: str, version: int) -> None:
        self._draft(code, version)
        repository.delete_draft(self.engine, code, version)

    # -- checking ------------------------------------------------------------------

    def problems(self, code: str, version: int, definition: Any | None = None) -> list[str]:
        if definition is None:
            definition = self.version(code, version).definition
        if not isinstance(definition, dict):
            return [T("not_object").render()]
        c = self.catalog
        return version_problems(
            definition, code=code, version=version, agencies=c.agencies, procedures=c.procedures
        )

    def diff(self, code: str, version: int) -> tuple[int | None, list[Change]]:
        """What a version changes against the one it was drafted from (or the previous)."""
        versions = self.versions(code)
        this = next((v for v in versions if v.version == version), None)
        if this is None:
            raise CatalogRefused("not_found", T("no_version", code=code, version=version))
        base_number = this.drafted_from
        if base_number is None:
            earlier = [v.version for v in versions if v.version < version]
            base_number = earlier[-1] if earlier else None
        base = next((v for v in versions if v.version == base_number), None)
        return base_number, diff_versions(base.definition if base else {}, this.definition)

    def preview(
        self, code: str, version: int, moments: list[datetime], remote_area: bool = False
    ) -> list[PreviewRow]:
        """The appointment and each step's due time for a dossier of this version received
        at each moment, every step taking its whole budget (the latest the plan allows)."""
        definition = self.version(code, version).definition
        try:
            p = Procedure.model_validate(definition)
        except ValidationError as exc:
            problems = "; ".join(describe_errors(exc, f"{code} v{version}"))
            raise CatalogRefused("invalid", T("not_valid", problems=problems)) from None
        if self.calendar_for is None:
            raise RuntimeError("CatalogAdmin.preview needs calendar_for")
        return [plan(p, self.calendar_for(m.astimezone(TZ).year), m) for m in moments]

    # -- publishing ----------------------------------------------------------------

    def publish(
        self,
        code: str,
        version: int,
        *,
        effective_from: date,
        decision: Decision,
        actor: str,
        now: datetime | None = None,
    ) -> VersionInfo:
        """Publish a draft, in force from `effective_from` (today at the earliest)."""
        now = now or datetime.now(UTC)
        today = now.astimezone(TZ).date()
        draft = self._draft(code, version)
        if effective_from < today:
            raise CatalogRefused(
                "invalid",
                T(
                    "effective_past",
                    day=effective_from.strftime("%d/%m/%Y"),
                    today=today.strftime("%d/%m/%Y"),
                ),
            )
        definition = {**draft.definition, "effective_from": effective_from.isoformat()}
        problems = self.problems(code, version, definition)
        if problems:
            raise CatalogRefused("invalid", T("not_valid", problems="; ".join(problems)))
        p = Procedure.model_validate(definition)
        row = repository.procedure_values(
            p,
            status="published",
            boundary_free=draft.boundary_free,
            decision_number=decision.number,
            decision_date=date.fromisoformat(decision.date),
            decision_signer=decision.signer,
            drafted_from=draft.drafted_from,
            drafted_by=draft.drafted_by,
            published_by=actor,
            published_at=now,
        )
        repository.save_procedure_versions(self.engine, [row])
        self._changed([p])
        return self.version(code, version)

    # -- import and export ----------------------------------------------------------

    def export(self, codes: list[str] | None = None) -> dict[str, Any]:
        """The latest published version of every procedure (or of `codes`), with the
        agencies: what an import of the same file leaves unchanged."""
        wanted = set(codes) if codes else None
        latest: dict[str, ProcedureRow] = {}
        for row in repository.published_procedures(self.engine):  # by code, then version
            latest[row.code] = row
        records = []
        for row in latest.values():
            if wanted is not None and row.code not in wanted:
                continue
            pub = Publication(boundary_free=row.boundary_free, decision=_publication(row))
            records.append(definition_to_record(row.definition, pub))
        agencies = [
            repository.agency_from_row(a).model_dump(mode="json", exclude_none=True)
            for a in repository.list_agencies(self.engine)
        ]
        return {"format": FORMAT, "agencies": agencies, "procedures": records}

    def import_file(self, document: Any, actor: str, now: datetime | None = None) -> ImportReport:
        """Import a file (docs/catalog.md). Idempotent: a record the same as its code's
        latest version adds nothing; a changed one becomes a new published version; a new
        code its version 1; a record that does not validate is reported with every problem
        and nothing of it is stored. The valid ones are stored together."""
        started = clock.perf_counter()
        now = now or datetime.now(UTC)
        if not isinstance(document, dict) or not isinstance(document.get("procedures"), list):
            raise CatalogRefused(
                "invalid", T("bad_file", reason='an object with a "procedures" list')
            )
        if document.get("format", FORMAT) != FORMAT:
            raise CatalogRefused("invalid", T("bad_file", reason=f"format is not {FORMAT}"))
        report = ImportReport()
        catalog = self.catalog
        agencies = dict(catalog.agencies)
        new_agencies: list[Agency] = []
        for i, item in enumerate(document.get("agencies") or []):
            try:
                a = Agency.model_validate(item)
            except ValidationError as exc:
                report.invalid.append(
                    {"index": i, "code": None, "problems": describe_errors(exc, f"agencies.{i}")}
                )
                continue
            if agencies.get(a.code) != a:
                new_agencies.append(a)
            agencies[a.code] = a
        highest = repository.highest_versions(self.engine)
        latest = {code: versions[-1] for code, versions in catalog.procedures.items()}
        procedures = {code: list(vs) for code, vs in catalog.procedures.items()}
        accepted: list[tuple[int, Procedure, Publication]] = []
        seen: set[str] = set()
        for i, record in enumerate(document["procedures"]):
            code = record.get("code") if isinstance(record, dict) else None
            where = f"procedures.{i}" + (f" ({code})" if code else "")
            if isinstance(code, str) and code in seen:
                report.invalid.append(
                    {
                        "index": i,
                        "code": code,
                        "problems": [f"{where}: code: {code} twice in the file"],
                    }
                )
                continue
            number = highest.get(code, 0) + 1 if isinstance(code, str) else 1
            try:
                definition, publication = record_to_definition(record, number)
                old = latest.get(code) if isinstance(code, str) else None
                dated = "effective_from" in definition
                # Without a date: the same as the held version's, or in force from today.
                definition.setdefault(
                    "effective_from",
                    (old.effective_from if old else now.astimezone(TZ).date()).isoformat(),
                )
                p = Procedure.model_validate(definition)
            except ValidationError as exc:
                problems = [
                    f"{where}: {field_in_record('.'.join(str(x) for x in e['loc']))}: "
                    + e["msg"].removeprefix("Value error, ")
                    for e in exc.errors()
                ]
                report.invalid.append({"index": i, "code": code, "problems": problems})
                continue
            except ValueError as exc:
                report.invalid.append({"index": i, "code": code, "problems": [f"{where}: {exc}"]})
                continue
            seen.add(p.code)
            # The same content under another number: nothing to add (models compare by
            # their fields, the snapshot's excluded ones too).
            if old is not None and p.model_copy(update={"version": old.version}) == old:
                report.unchanged.append(p.code)
                continue
            if old is not None and not dated:
                p = p.model_copy(
                    update={"effective_from": max(old.effective_from, now.astimezone(TZ).date())}
                )
            accepted.append((i, p, publication))
            procedures.setdefault(p.code, []).append(p)
        # References (agencies, sub-procedures) against the catalog as it will be.
        rows: list[dict[str, Any]] = []
        stored: list[Procedure] = []
        for i, p, publication in accepted:
            problems = [
                f"procedures.{i} ({p.code}): {line.split(': ', 1)[1]}"
                for line in reference_problems(p, agencies, procedures)
            ]
            if problems:
                report.invalid.append({"index": i, "code": p.code, "problems": problems})
                continue
            decision = publication.decision
            rows.append(
                repository.procedure_values(
                    p,
                    status="published",
                    boundary_free=publication.boundary_free,
                    decision_number=decision.number if decision else None,
                    decision_date=date.fromisoformat(decision.date) if decision else None,
                    decision_signer=decision.signer if decision else None,
                    drafted_from=latest[p.code].version if p.code in latest else None,
                    drafted_by=actor,
                    drafted_at=now,
                    published_by=actor,
                    published_at=now,
                )
            )
            stored.append(p)
            if p.code in latest:
                report.new_versions.append({"code": p.code, "version": p.version})
            else:
                report.created.append(p.code)
        repository.save_agencies(self.engine, new_agencies)
        repository.save_procedure_versions(self.engine, rows)
        report.agencies = len(new_agencies)
        self._changed(stored, new_agencies)
        report.seconds = round(clock.perf_counter() - started, 3)
        return report


def plan(p: Procedure, cal: WorkingCalendar, received_at: datetime) -> PreviewRow:
    """The appointment for a complete dossier of `p` received at `received_at`, and each
    step from its entry to the end of its whole budget: the same calendar functions the
    workflow's clock uses (domain/clock.py), for a receipt at that instant."""
    start = cal.counting_start(received_at, p.statutory_time.unit, p.receipt_cutoff)
    appointment = cal.appointment(received_at, p.statutory_time, p.receipt_cutoff)
    steps = []
    at = received_at
    for s in p.steps:
        due = cal.advance(at, s.budget.minutes(cal.day_minutes), s.budget.unit)
        steps.append(PreviewStep(s.id, s.name, s.budget.vi, cal.local(at), cal.local(due)))
        at = due
    days_off = []
    day = cal.local(received_at).date()
    last = cal.local(appointment).date()
    while day <= last:
        name = cal.day_name(day)
        if name and not cal.is_working_day(day):
            days_off.append((day, name))
        day += timedelta(days=1)
    return PreviewRow(
        received_at=cal.local(received_at),
        counted_from=cal.local(start),
        appointment=cal.local(appointment),
        steps=steps,
        days_off=days_off,
    )


__all__ = [
    "CatalogAdmin",
    "CatalogCache",
    "CatalogRefused",
    "ImportReport",
    "PreviewRow",
    "TimeUnit",
    "load_from_database",
    "plan",
]
