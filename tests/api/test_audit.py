"""The audit routes over HTTP: auditors only, every read logged; history, replay,
verification, timeline and trail of a real dossier."""

from __future__ import annotations

from tests.api.support import AUDITOR, INTAKE, POLICE, Api, error_of
from tests.api.test_documents import returned_dossier


async def test_an_auditor_replays_verifies_and_reads_the_timeline_and_trail(api: Api) -> None:
    async with api.http() as http:
        code, _, _ = await returned_dossier(api, http)
        base = f"/v1/audit/dossiers/{code}"
        auditor = api.headers(*AUDITOR)

        # Nobody else: not the intake officer, not the police leader.
        for who in (api.headers(*INTAKE), api.headers("leader", POLICE)):
            error_of(await http.get(f"{base}/history", headers=who), 403, "forbidden")

        r = await http.get(f"{base}/history", headers=auditor)
        assert r.status_code == 200, r.text
        runs = r.json()["runs"]
        assert runs and runs[-1]["history"]["events"][0]["eventType"].endswith(
            "WORKFLOW_EXECUTION_STARTED"
        )

        r = await http.get(f"{base}/replay", headers=auditor)
        assert r.status_code == 200 and r.json()["deterministic"] is True, r.text

        r = await http.get(f"{base}/verify", headers=auditor)
        report = r.json()
        assert r.status_code == 200 and report["intact"] is True, report
        assert report["record"]["chained_events"] == report["record"]["events_in_read_model"]

        r = await http.get(f"{base}/timeline", headers=auditor)
        states = r.json()
        assert r.status_code == 200 and states[-1]["status"] == "returned", states[-1]
        assert states[0]["status"] == "submitted"

        r = await http.get(f"{base}/trail", headers=auditor)
        entries = r.json()
        approve = next(e for e in entries if e["action"] == "approve")
        assert approve["reason"] == "Đồng ý" and approve["role"] == "leader"
        assert approve["changes"]["outcome"] == [None, "granted"]
        accept = next(e for e in entries if e["action"] == "accept")
        assert accept["changes"]["status"] == ["submitted", "received"]
        assert accept["changes"]["appointment"][0] is None

        r = await http.get(f"{base}/late", headers=auditor)
        late = r.json()
        assert r.status_code == 200 and late["delay"] is None, late
        appraisal = next(s for s in late["steps"] if s["step_id"] == "tra_cuu_xac_minh")
        assert appraisal["officer_id"] == f"specialist@{POLICE}" and appraisal["verdict"] in (
            "early",
            "on_time",
        )
        r = await http.get(
            "/v1/audit/delays", params={"since": "2020-01-01T00:00:00+07:00"}, headers=auditor
        )
        assert r.status_code == 200 and all(d["dossier_code"] != code for d in r.json())

        r = await http.get("/v1/audit/log", params={"dossier": code}, headers=auditor)
        actions = [row["action"] for row in r.json()]
        assert actions == ["history", "replay", "verify", "timeline", "trail", "late"]
        assert {row["actor_id"] for row in r.json()} == {"auditor@-"}

        missing = "/v1/audit/dossiers/000.00.01.H99-000000-9999/history"
        error_of(await http.get(missing, headers=auditor), 404, "not_found")


async def test_a_changed_archived_history_is_answered_409_and_the_log_verifies(api: Api) -> None:
    """An archived history whose bytes changed is never served as intact: 409
    archive_tampered naming the dossier and both hashes; /verify says not intact."""
    import hashlib

    from temporalio.api.history.v1 import History

    from infra.docstore import FolderStore, open_document_store
    from services.audit.archive import archive_run
    from store import repository

    async with api.http() as http:
        code, _, _ = await returned_dossier(api, http)
        auditor = api.headers(*AUDITOR)
        store = open_document_store(api.settings.resolved_document_store)
        assert isinstance(store, FolderStore)
        handle = api.client.get_workflow_handle(code)
        await handle.result()
        run_id = (await handle.describe()).run_id
        await archive_run(api.client, api.engine, store, code, run_id)
        [row] = repository.archived_runs(api.engine, code)
        path = store.path(row.sha256)
        changed = History.FromString(path.read_bytes())  # its first event a second later
        changed.events[0].event_time.seconds += 1
        path.write_bytes(changed.SerializeToString(deterministic=True))
        actual = hashlib.sha256(path.read_bytes()).hexdigest()

        base = f"/v1/audit/dossiers/{code}"
        for what in ("history", "replay", "timeline", "late"):
            r = await http.get(f"{base}/{what}", headers=auditor)
            message = error_of(r, 409, "archive_tampered")
            assert code in message and row.sha256 in message and actual in message, message
        r = await http.get(f"{base}/verify", headers=auditor)
        assert r.status_code == 200 and r.json()["intact"] is False, r.text
        assert actual in r.json()["record"]["problems"][0]["message"]

        r = await http.get("/v1/audit/log/verify", headers=auditor)
        assert r.status_code == 200 and r.json()["intact"] is True, r.text
        assert r.json()["head_seq"] >= 1  # the verify above, at least
        error_of(await http.get("/v1/audit/log/verify", headers=api.headers(*INTAKE)), 403)
