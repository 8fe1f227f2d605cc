"""Audit on the real dev server, on SQLite and PostgreSQL: a closed dossier is archived,
then asked of a Temporal that no longer has its history (as after the namespace's
retention), and it is still exported, replayed and verified from the archive; an edited SQL event row is named,
with the field that changed; every audit read is logged, and the log is append-only."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.api.history.v1 import History
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.service import RPCError

from api.app import create_app
from api.auth import issue_token
from domain.catalog import Role
from domain.dossier import Action, DossierDetail
from infra.docstore import open_document_store
from infra.settings import Settings
from services.audit.archive import (
    ArchiveTampered,
    archive_closed,
    archive_run,
    load_histories_many,
)
from services.audit.service import Auditor, AuditService
from services.dossiers import DossierService, ServiceError
from signatures.signing import KeyStore
from store import repository
from tests.devserver.conftest import new_namespace
from tests.devserver.journeys import (
    INTAKE,
    act,
    handle_of,
    request,
    shipped_catalog,
    walk_to_returned,
    workers,
)
from tests.harness import caught_up, documents_for_tests, pki_manifest_for_tests
from tests.payload_keys import DATA_CONVERTER

AUDITOR = Auditor(id="kt-01", name="Đỗ Thanh Giang", application="test")


@pytest.fixture
def service(client: Client, engine: Engine, tmp_path: Path) -> DossierService:
    settings = Settings(
        centre_task_queue=f"centre-audit-{uuid.uuid4().hex[:8]}", state_dir=tmp_path / "state"
    )
    return DossierService(client, engine, shipped_catalog(), settings)


def auditing(
    service: DossierService, client: Client | None, converter: DataConverter | None = DATA_CONVERTER
) -> AuditService:
    """The audit service with the deployment's key ring (the workers'), or `converter`."""
    roots = KeyStore.load(pki_manifest_for_tests()).trust_roots
    return AuditService(client, service.engine, documents_for_tests().store, roots, converter)


async def returned(service: DossierService) -> str:
    async with workers(service):
        code = (await service.submit(request(), INTAKE)).code
        await act(service, code, Action.ACCEPT, INTAKE, comment="Hồ sơ đầy đủ")
        await walk_to_returned(service, code)
        handle = handle_of(service, code)
        await handle.result()
        await caught_up(service.engine, handle)
    return code


async def test_a_dossier_is_replayed_from_the_archive_after_temporal_forgets_it(
    service: DossierService, client: Client, devserver: Any
) -> None:
    code = await returned(service)
    audit = auditing(service, client)
    live = await audit.export(code)
    assert [r["source"] for r in live["runs"]] == ["temporal"]

    archived = await archive_closed(client, service.engine, audit.store)
    assert archived >= 1
    assert await archive_closed(client, service.engine, audit.store) == 0  # once only
    [row] = repository.archived_runs(service.engine, code)
    assert row.status == "completed" and row.events == live["runs"][0]["events"]

    # Retention ends and Temporal has no history of it. (Simulated with a namespace that
    # never held it: the dev server's DeleteWorkflowExecution completes asynchronously,
    # not within a test, and its minimum retention is a day.)
    forgetful = await new_namespace(client, devserver.address, "forgotten")
    with pytest.raises(RPCError):
        await forgetful.get_workflow_handle(code).describe()
    audit = auditing(service, forgetful)

    exported = await audit.export(code)
    assert [(r["source"], r["sha256"]) for r in exported["runs"]] == [("archive", row.sha256)]
    assert exported["runs"][0]["history"] == live["runs"][0]["history"]
    replay = await audit.replay(code)
    assert replay.deterministic and [r.source for r in replay.runs] == ["archive"]
    verified = await audit.verify(code)
    assert verified.intact, verified.record.problems
    assert verified.record.events_in_history == verified.record.events_in_read_model
    assert {d.form for d in verified.documents} >= {"01", "06", "result"}
    assert all(d.verification and d.verification.valid for d in verified.documents)
    # Nothing anywhere: a clear answer.
    offline = auditing(service, None)
    assert (await offline.replay(code)).deterministic  # the archive alone suffices
    # ...with the key ring: the archived history's payloads are encrypted.
    archived_file = audit.store.get(row.sha256)
    assert archived_file[:1] == b"\n", "archived as a protobuf History, not JSON"
    applicant = (await offline.record(code)).input.applicant
    assert applicant.id_number.encode() not in archived_file
    assert applicant.name.encode() not in archived_file
    keyless = await auditing(service, None, converter=None).replay(code)
    assert not keyless.deterministic
    assert "đã được mã hóa (binary/encrypted) nhưng không có bộ khóa" in (
        keyless.runs[0].error or ""
    )


def changed_byte(data: bytes) -> bytes:
    """The archived history with its first event's time one second later: still a valid
    history, which a replay would pass as deterministic."""
    history = History.FromString(data)
    history.events[0].event_time.seconds += 1
    return history.SerializeToString(deterministic=True)


async def test_a_changed_archived_history_is_reported_not_read_as_intact(
    service: DossierService, client: Client, devserver: Any, tmp_path: Path
) -> None:
    import hashlib

    code = await returned(service)
    audit = auditing(service, client)
    await archive_closed(client, service.engine, audit.store)
    [row] = repository.archived_runs(service.engine, code)
    assert (await audit.replay(code)).deterministic
    path = audit.store.path(row.sha256)  # type: ignore[attr-defined]
    path.write_bytes(changed_byte(path.read_bytes()))
    actual = hashlib.sha256(path.read_bytes()).hexdigest()

    for read in (audit.export, audit.replay, audit.record):
        with pytest.raises(ArchiveTampered) as caught:
            await read(code)
        message = str(caught.value)
        assert f"hồ sơ {code}" in message and row.sha256 in message and actual in message
    verified = await audit.verify(code)
    assert not verified.intact
    assert verified.record.problems[0].message == message
    bulk = await audit.replay_many(procedure=request().procedure_code, since=None)
    assert message in bulk.tampered and code not in bulk.without_history

    run = cli(service, client, devserver, tmp_path)
    for args in (["export", code], ["replay", code], ["verify", code], ["timeline", code]):
        result = await asyncio.to_thread(run, *args)
        assert result.exit_code == 1, (args, result.output)
        assert "không còn nguyên vẹn" in result.output and actual in result.output, args
    result = await asyncio.to_thread(run, "replay", "--procedure", request().procedure_code)
    assert result.exit_code == 1 and actual in result.output, result.output


async def test_a_bulk_replay_in_batches_gives_every_dossier_its_verdict_in_order(
    service: DossierService, client: Client
) -> None:
    """Batches of one: each next batch is fetched while the one before replays."""
    async with workers(service):
        codes = [(await service.submit(request(), INTAKE)).code for _ in range(3)]
        for code in codes:
            await act(service, code, Action.ACCEPT, INTAKE, comment="Hồ sơ đầy đủ")
            await walk_to_returned(service, code)
            await handle_of(service, code).result()
            await caught_up(service.engine, handle_of(service, code))
    seen: list[tuple[int, int, str, bool | None]] = []
    report = await auditing(service, client).replay_many(
        procedure=request().procedure_code,
        since=None,
        batch=1,
        sandboxed=False,
        progress=lambda i, n, r, c: seen.append((i, n, c, None if r is None else r.deterministic)),
    )
    listed = repository.dossier_codes(service.engine, procedure=request().procedure_code)
    assert set(codes) <= set(listed)
    assert [(i, n, c) for i, n, c, _ in seen] == [
        (i, len(listed), c) for i, c in enumerate(listed, start=1)
    ]
    assert all(ok for _, _, c, ok in seen if c in codes)  # replayed, and deterministic
    assert report.checked == report.deterministic == len(listed) - len(report.without_history)
    assert not report.failed

    # Loaded together: one of them archived, the others listed by Temporal in one
    # `WorkflowId IN (...)` query, in the order asked, every run found once.
    audit = auditing(service, client)
    first_run = (await handle_of(service, codes[0]).describe()).run_id
    await archive_run(client, service.engine, audit.store, codes[0], first_run)
    loaded = [
        (code, runs)
        async for code, runs in load_histories_many(
            client, service.engine, audit.store, [*reversed(codes), "000.00.01.H99-000000-9999"]
        )
    ]
    assert [c for c, _ in loaded] == [*reversed(codes), "000.00.01.H99-000000-9999"]
    sources = {c: [r.source for r in runs] for c, runs in loaded if isinstance(runs, list)}
    assert sources == {
        codes[2]: ["temporal"],
        codes[1]: ["temporal"],
        codes[0]: ["archive"],
        "000.00.01.H99-000000-9999": [],
    }


async def test_an_edited_event_row_is_named_with_what_changed(
    service: DossierService, client: Client
) -> None:
    code = await returned(service)
    audit = auditing(service, client)
    assert (await audit.verify(code)).intact

    events = repository.list_events(service.engine, code)
    approve = next(e for e in events if e.kind == "approve")
    with service.engine.begin() as conn:  # someone edits the SQL row by hand
        conn.execute(
            text("UPDATE dossier_events SET comment = :c WHERE id = :id"),
            {"c": "Không đồng ý", "id": approve.id},
        )
    report = await audit.verify(code)
    assert not report.intact
    messages = [p.message for p in report.record.problems]
    assert all(p.seq == approve.seq for p in report.record.problems), messages
    assert any("không khớp với mã băm của nó" in m for m in messages), messages
    assert any(
        f"sự kiện #{approve.seq} (approve): comment là 'Không đồng ý' trong dữ liệu đọc" in m
        for m in messages
    ), messages

    # A deleted row: the gap and the broken chain are named.
    last = events[-1]
    with service.engine.begin() as conn:
        conn.execute(text("DELETE FROM dossier_events WHERE id = :id"), {"id": events[3].id})
    messages = [p.message for p in (await audit.verify(code)).record.problems]
    assert f"sự kiện #{events[3].seq} không có trong dữ liệu đọc" in messages
    assert any(f"sự kiện #{events[4].seq}" in m and "chuỗi băm" in m for m in messages), messages
    assert last.hash  # the chain reaches the last event


async def test_every_audit_read_is_logged_and_the_log_is_append_only(
    service: DossierService, client: Client
) -> None:
    code = await returned(service)
    audit = auditing(service, client)
    await audit.log(AUDITOR, "verify", code, intact=True)
    rows = repository.audit_log(service.engine, dossier_code=code)
    assert [(r.actor_id, r.action, r.application) for r in rows] == [("kt-01", "verify", "test")]
    with pytest.raises(Exception, match="append-only"), service.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))


def cli(service: DossierService, client: Client, devserver: Any, tmp_path: Path) -> Any:
    """`motcua audit ...` as an auditor runs it, against the same server and database."""
    from typer.testing import CliRunner

    from infra.settings import get_settings
    from motcua.cli import app

    env = {
        "MOTCUA_TEMPORAL_ADDRESS": devserver.address,
        "MOTCUA_TEMPORAL_NAMESPACE": client.namespace,
        "DATABASE_URL": service.engine.url.render_as_string(hide_password=False),
        "MOTCUA_PKI_MANIFEST": str(pki_manifest_for_tests()),
        "MOTCUA_DOCUMENT_STORE": str(documents_for_tests().store.root),  # type: ignore[attr-defined]
        "MOTCUA_STATE_DIR": str(tmp_path),
    }
    runner = CliRunner()

    def run(*args: str) -> Any:
        get_settings.cache_clear()
        try:
            return runner.invoke(app, ["audit", *args], env=env)
        finally:
            get_settings.cache_clear()

    return run


async def test_the_audit_commands_replay_verify_and_export(
    service: DossierService, client: Client, devserver: Any, tmp_path: Path
) -> None:
    """`motcua audit ...` as an auditor runs it, against the same server and database."""

    code = await returned(service)
    run = cli(service, client, devserver, tmp_path)
    for mixed in (["--processes", "2"], ["--procedure", request().procedure_code]):
        result = await asyncio.to_thread(run, "replay", code, *mixed, "--as", "kt-02")
        assert result.exit_code == 2 and "không dùng cả hai" in result.output, result.output
    result = await asyncio.to_thread(run, "replay", code, "--as", "kt-02")
    assert result.exit_code == 0, result.output
    assert "tất định" in result.output and "KHÔNG" not in result.output
    result = await asyncio.to_thread(run, "verify", code, "--as", "kt-02")
    assert result.exit_code == 0 and "INTACT" in result.output, result.output
    out = tmp_path / "h.json"
    result = await asyncio.to_thread(run, "export", code, "--out", str(out), "--as", "kt-02")
    assert result.exit_code == 0 and json.loads(out.read_text())["dossier_code"] == code
    for how in (["--sandbox"], ["--no-sandbox"], ["--no-sandbox", "--processes", "2"]):
        result = await asyncio.to_thread(
            run, "replay", "--procedure", request().procedure_code, *how
        )
        assert result.exit_code == 0 and "0 không;" in result.output, result.output
        assert f"{code}: ok" in result.output, result.output
    result = await asyncio.to_thread(run, "timeline", code, "--as", "kt-02")
    assert result.exit_code == 0 and "returned" in result.output, result.output
    assert "submitted" in result.output.splitlines()[0]
    result = await asyncio.to_thread(run, "late", code, "--as", "kt-02")
    assert result.exit_code == 0 and f"{code}: không quá hạn" in result.output, result.output
    assert "tra_cuu_xac_minh" in result.output
    assert "đúng hạn" in result.output or "trước hạn" in result.output
    logged = [(r.actor_id, r.action) for r in repository.audit_log(service.engine)]
    assert ("kt-02", "replay") in logged and ("kt-02", "verify") in logged
    assert ("kt-02", "history") in logged
    # Edit a row: verify says so and exits 1.
    with service.engine.begin() as conn:
        conn.execute(text("UPDATE dossier_events SET actor_id = 'ai-do' WHERE seq = 3"))
    result = await asyncio.to_thread(run, "verify", code)
    assert result.exit_code == 1 and "NOT INTACT" in result.output
    assert "actor_id là 'ai-do' trong dữ liệu đọc" in result.output


async def test_a_dossier_past_retention_reads_in_full_from_its_archived_history(
    service: DossierService, client: Client, devserver: Any, tmp_path: Path
) -> None:
    """Issue 26, item 5: after Temporal deleted a closed dossier's history, its detail and
    control slip are read from the archive (checked against its hash), as are its
    documents and timeline; a changed archive is an error, never read as intact."""
    code = await returned(service)
    live = await service.detail(code)
    assert isinstance(live, DossierDetail)
    store = open_document_store(str(tmp_path / "documents"))
    assert await archive_closed(client, service.engine, store) >= 1
    forgetful = await new_namespace(client, devserver.address, "forgotten")

    blind = DossierService(forgetful, service.engine, service.catalog, service.settings)
    with pytest.raises(ServiceError) as caught:
        await blind.state(code)  # without the archive, as before: not found
    assert caught.value.code == "not_found"
    reader = DossierService(
        forgetful, service.engine, service.catalog, service.settings, archive=store
    )
    detail = await reader.detail(code)
    assert isinstance(detail, DossierDetail)
    assert detail.view == live.view and detail.applicant == live.applicant
    assert (await reader.state(code)) == live.view

    # Through the API, on the same Temporal that forgot it.
    settings = service.settings.model_copy(update={"document_store": str(tmp_path / "documents")})
    app = create_app(settings, client=forgetful, engine=service.engine, catalog=service.catalog)
    auditor = issue_token(settings, sub="kt-01", roles=[Role.AUDITOR], name="Kiểm tra")
    headers = {"Authorization": f"Bearer {auditor}"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        r = await http.get(f"/v1/dossiers/{code}", headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == live.view.status.value and r.json()["code"] == code
        r = await http.get(f"/v1/dossiers/{code}/control-slip", headers=headers)
        assert r.status_code == 200 and r.content.startswith(b"%PDF-"), r.text
        slip = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
        assert code in slip and "PHIẾU KIỂM SOÁT" in slip.upper()
        r = await http.get(f"/v1/audit/dossiers/{code}/timeline", headers=headers)
        assert r.status_code == 200, r.text
        r = await http.get(f"/v1/dossiers/{code}/documents", headers=headers)
        assert r.status_code == 200, r.text
        assert {"01", "06", "result"} <= {d["form"] for d in r.json()["documents"]}

        # One byte of the archive changed: an error that says so, not a stale reading.
        [row] = repository.archived_runs(service.engine, code)
        path = store.path(row.sha256)  # type: ignore[attr-defined]
        path.write_bytes(changed_byte(path.read_bytes()))
        r = await http.get(f"/v1/dossiers/{code}", headers=headers)
        assert r.status_code == 500 and r.json()["error"]["code"] == "tampered", r.text
        assert "không còn nguyên vẹn" in r.json()["error"]["message"]
