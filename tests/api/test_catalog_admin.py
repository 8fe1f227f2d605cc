"""A catalog administrator publishes a new version of the judicial record certificate
(3.000333) over the real API, on both databases: drafts it from the current one, edits it
as YAML, checks it, reads what it changes, previews its appointments across Tết 2027 and
publishes it with an effective date 30 days ahead. A dossier filed now runs version 1; a
dossier received on the effective date runs version 2, each in its own workflow; a
scheduled version is not yet what the catalog lists. Only catalog_admin may do any of it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import yaml

from domain.catalog import Role
from domain.dossier import Actor, Applicant
from services.catalog import load_from_database
from services.dossiers import DossierService, SubmitRequest
from store import repository
from tests.api.support import AUDITOR, CENTRE, PROCEDURE, Api, error_of, submit, wait_view
from workflows.dossier import DossierWorkflow

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ADMIN = (Role.CATALOG_ADMIN, None)
BASE = f"/v1/catalog/procedures/{PROCEDURE}"


async def test_only_the_catalog_administrator_reaches_the_catalog_routes(
    api: Api, http: httpx.AsyncClient
) -> None:
    for role, agency in [(Role.SPECIALIST, CENTRE), (Role.ADMIN, None), AUDITOR]:
        h = api.headers(role, agency)
        error_of(await http.get("/v1/catalog/procedures", headers=h), 403, "forbidden")
        error_of(await http.post(f"{BASE}/drafts", headers=h), 403, "forbidden")
        error_of(await http.get("/v1/catalog/export", headers=h), 403, "forbidden")
    r = await http.get("/v1/catalog/procedures", headers=api.headers(*ADMIN))
    assert r.status_code == 200, r.text
    assert PROCEDURE in {p["code"] for p in r.json()}
    error_of(
        await http.get("/v1/catalog/procedures/9.999999/versions", headers=api.headers(*ADMIN)), 404
    )


async def test_a_version_published_for_a_later_date_runs_only_for_dossiers_received_from_then(
    api: Api, http: httpx.AsyncClient
) -> None:
    h = api.headers(*ADMIN, sub="dm-01")
    r = await http.post(f"{BASE}/drafts", headers=h)
    assert r.status_code == 201, r.text
    draft = r.json()
    number = draft["version"]
    assert draft["status"] == "draft" and draft["drafted_from"] == number - 1

    # Edited as the officer edits it: the YAML text, one step's budget shorter.
    d = yaml.safe_load(draft["text"])
    step = d["steps"][1]
    step["budget"] = {"value": step["budget"]["value"] / 2, "unit": step["budget"]["unit"]}
    text = yaml.safe_dump(d, allow_unicode=True, sort_keys=False)
    r = await http.put(f"{BASE}/versions/{number}", json={"text": text}, headers=h)
    assert r.status_code == 200 and r.json() == {"problems": []}, r.text
    r = await http.put(f"{BASE}/versions/{number}", json={"text": "steps: [1, 2"}, headers=h)
    error_of(r, 422, "invalid")

    r = await http.get(f"{BASE}/versions/{number}/diff", headers=h)
    changes = r.json()["changes"]
    assert [c["path"] for c in changes] == [f"steps[{step['id']}].budget"], changes
    assert changes[0]["label"].startswith(f"Bước '{step['id']}'")

    # Before Tết 2027 (days off 04/02 to 10/02): counted from Thursday 11/02.
    r = await http.post(
        f"{BASE}/versions/{number}/preview",
        json={"moments": ["2027-02-03T09:00:00+07:00"]},
        headers=h,
    )
    assert r.status_code == 200, r.text
    preview = r.json()[0]
    assert preview["counted_from"].startswith("2027-02-11T07:30")
    assert {d["day"] for d in preview["days_off"]} >= {"2027-02-04", "2027-02-10"}
    assert [s["step_id"] for s in preview["steps"]] == [s["id"] for s in d["steps"]]

    today = datetime.now(UTC).astimezone(TZ).date()
    effective = today + timedelta(days=30)
    decision = {"number": "15/QĐ-UBND", "date": today.isoformat(), "signer": "Chủ tịch UBND tỉnh"}
    r = await http.post(
        f"{BASE}/versions/{number}/publish",
        json={"effective_from": (today - timedelta(days=1)).isoformat(), "decision": decision},
        headers=h,
    )
    assert "effective_from" in error_of(r, 422, "invalid")
    r = await http.post(
        f"{BASE}/versions/{number}/publish",
        json={"effective_from": effective.isoformat(), "decision": decision},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["decision"]) == ("scheduled", decision)

    # What a citizen sees today is still the version in force; v2 is held by number.
    r = await http.get(f"/v1/procedures/{PROCEDURE}", headers=api.headers(*AUDITOR))
    assert r.json()["version"] == number - 1
    r = await http.get(
        f"/v1/procedures/{PROCEDURE}?version={number}", headers=api.headers(*AUDITOR)
    )
    assert r.status_code == 200, r.text

    # Filed now: the version in force today.
    code_now = await submit(api, http, api.person("trước ngày hiệu lực"))
    view = await wait_view(api, http, code_now, lambda v: v["status"], "read")
    assert view["procedure_version"] == number - 1

    # Received on the effective date: the new version, in a workflow of its own.
    service = DossierService(api.client, api.engine, load_from_database(api.engine), api.settings)
    received = datetime.combine(effective, datetime.min.time(), TZ).replace(hour=9)
    person = api.person("sau ngày hiệu lực")
    req = SubmitRequest(
        procedure_code=PROCEDURE,
        applicant=Applicant(name=person.name, id_number=person.id_number),
    )
    actor = Actor(id="tnhs-cat", role=Role.INTAKE_OFFICER, agency=CENTRE, name="Tiếp nhận")
    code_later = repository.allocate_dossier_code(api.engine, "000.00.20.H99", effective)
    inp = service.build_input(req, actor, code_later, received.astimezone(UTC))
    assert inp.procedure.version == number
    assert inp.procedure.steps[1].budget == type(inp.procedure.steps[1].budget).model_validate(
        step["budget"]
    )
    await api.client.start_workflow(
        DossierWorkflow.run, inp, id=code_later, task_queue=api.settings.centre_task_queue
    )
    handle = api.client.get_workflow_handle(code_later)
    state = await handle.query(DossierWorkflow.state)
    assert state.procedure_version == number
    # The dossier filed before keeps its version.
    view = await wait_view(api, http, code_now, lambda v: v["status"], "read")
    assert view["procedure_version"] == number - 1


async def test_the_catalog_imports_a_file_idempotently_and_reports_what_it_refuses(
    api: Api, http: httpx.AsyncClient
) -> None:
    h = api.headers(*ADMIN, sub="dm-02")
    code = "2.001610"  # Đăng ký thành lập doanh nghiệp tư nhân
    r = await http.get("/v1/catalog/export", params={"code": code}, headers=h)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["format"] == "motcua-catalog/1" and [p["code"] for p in doc["procedures"]] == [code]
    record = doc["procedures"][0]
    assert {"agency", "time", "components", "fees", "legal_basis"} <= set(record)
    today = datetime.now(UTC).astimezone(TZ).date()
    changed = dict(record, effective_from=(today + timedelta(days=60)).isoformat())
    changed["fees"] = [{"name": "Lệ phí đăng ký doanh nghiệp", "amount_vnd": 50000}]
    changed["decision"] = {"number": "77/QĐ-UBND", "date": today.isoformat(), "signer": "Chủ tịch"}
    broken = dict(record, code="2.999999", components=[{"kind": "to_khai", "copies": 0}])
    upload = {"procedures": [changed, broken]}

    async def send(payload: dict[str, object]) -> dict[str, object]:
        files = {"file": ("catalog.json", json.dumps(payload), "application/json")}
        r = await http.post("/v1/catalog/import", files=files, headers=h)
        assert r.status_code == 200, r.text
        return r.json()

    report = await send(upload)
    assert [v["code"] for v in report["new_versions"]] == [code]
    assert [i["code"] for i in report["invalid"]] == ["2.999999"]
    problems = report["invalid"][0]["problems"]
    assert any("components.0.name" in p for p in problems), problems
    assert any("components.0.copies" in p for p in problems), problems
    again = await send(upload)
    assert again["new_versions"] == [] and again["unchanged"] == [code]

    # CSV: the same records; the export of what is held imports unchanged.
    r = await http.get("/v1/catalog/export", params={"code": code, "format": "csv"}, headers=h)
    assert r.headers["content-type"].startswith("text/csv"), r.headers
    files = {"file": ("catalog.csv", r.text, "text/csv")}
    r = await http.post("/v1/catalog/import", files=files, headers=h)
    assert r.status_code == 200 and r.json()["unchanged"] == [code], r.text
    versions = (await http.get(f"/v1/catalog/procedures/{code}/versions", headers=h)).json()
    assert (
        versions[-1]["state"] == "scheduled" and versions[-1]["decision"]["number"] == "77/QĐ-UBND"
    )
    r = await http.post(
        "/v1/catalog/import",
        files={"file": ("catalog.json", "{not json", "application/json")},
        headers=h,
    )
    error_of(r, 422, "invalid")
