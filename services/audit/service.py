"""What an auditor can ask of any dossier, however old: its whole history (from
Temporal or the archive), a replay against today's code, the proof that the read
model's record is the workflow's, the signatures on its documents, its timeline and
who was late. Every question is itself logged (append-only `audit_log`).

Histories are kept as Temporal holds them, payloads encrypted (infra/codec.py); the
service decrypts them with its data converter's codec for what it reads and exports,
and replays them through that converter, as a worker would."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter

from infra.codec import decoded_history
from infra.docstore import DocumentNotFound, DocumentStore
from services.audit.archive import (
    ArchiveTampered,
    Run,
    export,
    load_histories,
    load_histories_many,
)
from services.audit.history import DossierRecord, decode, events_of
from services.audit.integrity import (
    AuditLogReport,
    IntegrityReport,
    Problem,
    verify_audit_log,
    verify_record,
)
from services.audit.replay import ConverterFactory, ReplayPool, RunReplay, replay_histories
from services.audit.timeline import (
    DelayAttribution,
    StepRecord,
    control_slip,
    delay_attribution,
    supplement_attribution,
)
from services.messages import T
from services.verification import DocumentVerification, verify_document
from store import repository
from store.index import late_codes, late_count
from store.models import AuditLogRow


class NoHistory(LookupError):
    pass


# Histories a bulk replay fetches at once (from Temporal, or the archive).
FETCHING = 16


class DossierReplay(BaseModel):
    dossier_code: str
    deterministic: bool
    runs: list[RunReplay]


class DocumentCheck(BaseModel):
    document_id: str
    form: str
    title: str
    verification: DocumentVerification | None
    problem: str | None = None


class DossierVerification(BaseModel):
    dossier_code: str
    intact: bool
    record: IntegrityReport
    documents: list[DocumentCheck]


class LateReport(BaseModel):
    """Planned against actual for every step, and who made the dossier late (if it was)."""

    dossier_code: str
    steps: list[StepRecord]
    delay: DelayAttribution | None


class BulkReplay(BaseModel):
    checked: int
    deterministic: int
    failed: list[DossierReplay]
    without_history: list[str]
    # Dossiers whose archived history was changed (ArchiveTampered's message each): not
    # replayed, and the run fails.
    tampered: list[str] = []


@dataclass
class Auditor:
    """Who is asking, for the audit log."""

    id: str
    name: str = ""
    roles: list[str] = field(default_factory=lambda: ["auditor"])
    application: str = "api"


@dataclass
class AuditService:
    client: Client | None
    engine: Engine
    store: DocumentStore
    trust_roots: list[Any]
    # The deployment's data converter (infra.temporal.data_converter); unset: the
    # client's. Without either, only plain (unencrypted) histories can be read.
    converter: DataConverter | None = None
    # The same converter made anew in a child process, for a bulk replay over several
    # processes (`functools.partial(infra.temporal.data_converter, settings)`).
    converter_factory: ConverterFactory | None = None

    def __post_init__(self) -> None:
        if self.converter is None and self.client is not None:
            self.converter = self.client.data_converter

    def _converter(self) -> DataConverter:
        if self.converter is None:
            from infra.temporal import converter_with

            return converter_with(None)
        return self.converter

    async def plain(self, history: WorkflowHistory) -> WorkflowHistory:
        """The history with its payloads decrypted."""
        return await decoded_history(history, self._converter().payload_codec)

    async def log(self, who: Auditor, action: str, code: str | None, **detail: Any) -> None:
        row = AuditLogRow(
            at=datetime.now(UTC),
            actor_id=who.id,
            actor_name=who.name,
            roles=who.roles,
            application=who.application,
            action=action,
            dossier_code=code,
            detail=detail,
        )
        await asyncio.to_thread(repository.log_audit_read, self.engine, row)

    async def runs(self, code: str) -> list[Run]:
        runs = await load_histories(self.client, self.engine, self.store, code)
        if not runs:
            raise NoHistory(T("no_history", code=code))
        return runs

    async def record(self, code: str) -> DossierRecord:
        return await self._record(await self.runs(code))

    async def _record(self, runs: list[Run]) -> DossierRecord:
        return decode([await self.plain(r.history) for r in runs])

    async def export(self, code: str) -> dict[str, Any]:
        """Every run's history with its payloads decrypted (each `sha256` is that of
        the archived file, whose payloads are encrypted)."""
        runs = [
            dataclasses.replace(r, history=await self.plain(r.history))
            for r in await self.runs(code)
        ]
        return export(code, runs) | {"payloads": "decrypted"}

    async def replay(self, code: str, *, sandboxed: bool = True) -> DossierReplay:
        runs = await self.runs(code)
        return self._dossier_replay(code, await self._replayed(runs, sandboxed))

    async def _replayed(self, runs: list[Run], sandboxed: bool) -> list[RunReplay]:
        return await replay_histories(
            ((r.history, r.run_id, r.source) for r in runs),
            converter=self._converter(),
            sandboxed=sandboxed,
        )

    @staticmethod
    def _dossier_replay(code: str, results: list[RunReplay]) -> DossierReplay:
        return DossierReplay(
            dossier_code=code,
            deterministic=all(r.deterministic for r in results),
            runs=results,
        )

    async def replay_many(
        self,
        *,
        procedure: str | None,
        since: datetime | None,
        until: datetime | None = None,
        progress: Callable[[int, int, DossierReplay | None, str], None] | None = None,
        sandboxed: bool = True,
        processes: int = 1,
        batch: int = 200,
    ) -> BulkReplay:
        """Every dossier of the procedure and/or period: `batch` dossiers' histories at a
        time (for each process) through one Replayer a process (a Replayer for each
        history costs more than most replays)."""
        if processes > 1 and self.converter_factory is None:
            raise ValueError("a replay over several processes needs a converter_factory")
        factory = self.converter_factory if processes > 1 else self._converter
        assert factory is not None
        codes = await asyncio.to_thread(
            repository.dossier_codes, self.engine, procedure=procedure, since=since, until=until
        )
        report = BulkReplay(checked=0, deterministic=0, failed=[], without_history=[])
        size = batch * processes
        # A batch's histories are loaded together (services/audit/archive.py:
        # `load_histories_many`): its archived runs in one query, its runs listed by
        # Temporal fifty dossiers a query, histories fetched FETCHING at a time.
        tampered: set[str] = set()

        async def fetch(batch: Sequence[str]) -> list[tuple[str, list[Run]]]:
            loaded: list[tuple[str, list[Run]]] = []
            async for code, runs in load_histories_many(
                self.client, self.engine, self.store, batch, fetching=FETCHING
            ):
                if isinstance(runs, ArchiveTampered):
                    tampered.add(code)
                    report.tampered.append(str(runs))
                    runs = []
                loaded.append((code, runs))
            return loaded

        def load(first: int) -> asyncio.Future[list[tuple[str, list[Run]]]]:
            return asyncio.ensure_future(fetch(codes[first : first + size]))

        # The next batch is fetched while this one replays (in the pool's processes, or
        # here while the server answers): one batch's wait instead of every batch's.
        loading = load(0) if codes else None
        with ReplayPool(processes, factory, sandboxed=sandboxed) as pool:
            try:
                for first in range(0, len(codes), size):
                    assert loading is not None
                    loaded = await loading
                    more = first + size < len(codes)
                    loading = load(first + size) if more else None
                    replayed = await pool.replay(
                        (r.history, r.run_id, r.source) for _, runs in loaded for r in runs
                    )
                    self._tally(
                        report, loaded, iter(replayed), first, len(codes), progress, tampered
                    )
            finally:
                if loading is not None:
                    loading.cancel()
        return report

    def _tally(
        self,
        report: BulkReplay,
        loaded: list[tuple[str, list[Run]]],
        results: Iterator[RunReplay],
        first: int,
        total: int,
        progress: Callable[[int, int, DossierReplay | None, str], None] | None,
        tampered: Collection[str] = (),
    ) -> None:
        """One batch's verdicts into the report, dossier by dossier."""
        for i, (code, runs) in enumerate(loaded, start=first + 1):
            result: DossierReplay | None = None
            if code in tampered:
                pass  # in report.tampered, with why
            elif not runs:
                report.without_history.append(code)
            else:
                result = self._dossier_replay(code, [next(results) for _ in runs])
                report.checked += 1
                if result.deterministic:
                    report.deterministic += 1
                else:
                    report.failed.append(result)
            if progress is not None:
                progress(i, total, result, code)

    async def late(self, code: str) -> LateReport:
        record = await self.record(code)
        return LateReport(
            dossier_code=code, steps=control_slip(record), delay=delay_attribution(record)
        )

    async def late_in_period(
        self,
        *,
        since: datetime | None,
        until: datetime | None,
        now: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[DelayAttribution]:
        """Who caused the delays (Decision 766's monthly list): every dossier the index
        counts late in the period (store.index.late_clause: the same definition, so the
        list and the index agree), with the step, agency and officer that consumed the
        time, or who asked for a supplement more than once; `limit` of them from
        `offset` (oldest first) for a page (`late_total` counts them all)."""
        start = since or datetime(1970, 1, 1, tzinfo=UTC)  # open-ended: every dossier
        end = until or now or datetime.now(UTC)
        codes = await asyncio.to_thread(
            late_codes, self.engine, start, end, now=now, limit=limit, offset=offset
        )
        out = []
        for code in codes:
            try:
                record = await self.record(code)
            except NoHistory:
                continue
            delay = delay_attribution(record) or supplement_attribution(record)
            if delay is not None:
                out.append(delay)
        return out

    async def late_total(
        self, *, since: datetime, until: datetime, now: datetime | None = None
    ) -> int:
        """How many dossiers the index counts late in the period (the late list's length
        before those without a history to attribute the delay from)."""
        return await asyncio.to_thread(late_count, self.engine, since, until, now=now)

    async def verify_log(self) -> AuditLogReport:
        """The audit log's own chain: an edited, deleted or moved row is named."""
        rows, head = await asyncio.to_thread(repository.audit_log_chain, self.engine)
        return verify_audit_log(rows, head)

    async def verify(self, code: str) -> DossierVerification:
        """The record against the history; an archived history that was changed is not
        read (the read model's own chain is still checked) and makes it not intact."""
        tampered: ArchiveTampered | None = None
        history_events = None
        try:
            history_events = events_of(await self._record(await self.runs(code)))
        except ArchiveTampered as exc:
            tampered = exc
        rows = await asyncio.to_thread(repository.list_events, self.engine, code)
        head = history_events[-1].hash if history_events else None
        record = verify_record(code, rows, history_events, head or None)
        if tampered is not None:
            record.problems.insert(0, Problem(seq=None, event_id=None, message=str(tampered)))
            record.intact = False
        documents = []
        for doc in await asyncio.to_thread(repository.list_documents, self.engine, code):
            if doc.source == "upload" or not doc.sha256 or doc.content:
                continue
            try:
                pdf = await asyncio.to_thread(self.store.get, doc.sha256)
            except DocumentNotFound:
                documents.append(
                    DocumentCheck(
                        document_id=doc.id,
                        form=doc.form,
                        title=doc.title,
                        verification=None,
                        problem=f"the file {doc.sha256} is not in the document store",
                    )
                )
                continue
            check = await asyncio.to_thread(verify_document, pdf, self.trust_roots, self.engine)
            documents.append(
                DocumentCheck(
                    document_id=doc.id, form=doc.form, title=doc.title, verification=check
                )
            )
        # A form stored without a seal (no key configured) is not a broken signature.
        signed_ok = all(
            d.verification is not None
            and (d.verification.valid or not d.verification.signatures.signed)
            for d in documents
        )
        return DossierVerification(
            dossier_code=code,
            intact=record.intact and signed_ok,
            record=record,
            documents=documents,
        )
