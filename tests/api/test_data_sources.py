"""Data instead of paper over HTTP (NQ 66.7/2025/NQ-CP): a birth registration (1.001193)
filed online with the citizen's consent takes the parents' data from the population
database (a real local HTTP data source, tests/datasource_server.py) instead of a file;
a missing record, or one that disagrees, becomes one supplement request naming the
component and one request to have the database corrected; the 766 reuse figure counts the
component taken from the database."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from store import repository
from tests.api.support import (
    AUDITOR,
    INTAKE,
    Api,
    Person,
    act,
    b64,
    caught_up,
    document,
    error_of,
    wait_view,
)
from tests.datasource_server import DataSourceServer
from tests.files import jpeg, pdf

BIRTH = "1.001193"
PARENTS = "thong_tin_cha_me"
POPULATION = "CSDL quốc gia về dân cư"


def parents_ids() -> tuple[str, str]:
    n = uuid.uuid4().int
    return f"{n % 10**12:012d}", f"{(n // 10**12) % 10**12:012d}"


def birth(person: Person, mother: str, father: str, *declared: dict[str, str]) -> dict[str, Any]:
    """An online birth registration with the declaration and the birth certificate as
    files, and the parents' data to be taken from the population database."""
    return {
        "procedure_code": BIRTH,
        "applicant": {"name": person.name, "id_number": person.id_number},
        "channel": "online",
        "documents": [
            document("to_khai", "to-khai-khai-sinh.pdf", pdf(f"to khai {person.id_number}")),
            document("giay_chung_sinh", "giay-chung-sinh.pdf", pdf(f"chung sinh {mother}")),
        ],
        "data_consents": [
            {
                "component": PARENTS,
                "consent": True,
                "subject_ids": [mother, father],
                "declared": list(declared),
            }
        ],
    }


def family(server: DataSourceServer, *names: str) -> tuple[str, str]:
    """The parents' ID numbers, and the population database's records of as many of them
    as `names` names (mother first)."""
    mother, father = parents_ids()
    for subject, name in zip((mother, father), names, strict=False):
        server.add("population", subject, f"DC-{subject[-6:]}", ho_ten=name)
    return mother, father


async def filed(http: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]) -> str:
    r = await http.post("/v1/dossiers", json=body, headers=headers)
    assert r.status_code == 201, r.text
    code: str = r.json()["code"]
    return code


def item(view: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(i for i in view["checklist"]["items"] if i["kind"] == PARENTS)
    return found


async def events_of(api: Api, http: httpx.AsyncClient, code: str) -> list[dict[str, Any]]:
    await caught_up(api, http, code)
    r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*AUDITOR))
    assert r.status_code == 200, r.text
    events: list[dict[str, Any]] = r.json()["events"]
    return events


async def reused_this_month(api: Api, http: httpx.AsyncClient) -> tuple[int, int]:
    month = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m")
    r = await http.get(
        "/v1/index", params={"period": month, "procedure": BIRTH}, headers=api.headers(*AUDITOR)
    )
    assert r.status_code == 200, r.text
    rows = [x for x in r.json()["rows"] if x["procedure_code"] == BIRTH]
    return (
        sum(x["counts"]["reused"] for x in rows),
        sum(x["counts"]["received"] for x in rows),
    )


async def test_the_parents_data_comes_from_the_population_database_instead_of_a_file(
    api: Api, http: httpx.AsyncClient, data_source_server: DataSourceServer
) -> None:
    person = api.person("khai sinh")
    mother, father = parents_ids()
    data_source_server.add(
        "population", mother, f"DC-{mother[-4:]}", ho_ten="Trần Thị Mẹ", ngay_sinh="1995-03-02"
    )
    data_source_server.add(
        "population", father, f"DC-{father[-4:]}", ho_ten="Lê Văn Cha", ngay_sinh="1993-07-09"
    )
    reused_before, received_before = await reused_this_month(api, http)

    # Declared as the citizen typed it: case and spacing do not matter.
    declared = ({"ho_ten": "trần thị  mẹ"}, {"ngay_sinh": "1993-07-09"})
    code = await filed(http, birth(person, mother, father, *declared), api.applicant(person))

    view = await wait_view(api, http, code, lambda v: item(v)["files"], "the parents' data")
    parents = item(view)
    assert parents["missing"] is False and parents["data_outcome"] == "found"
    assert parents["source"]["database"] == "population"
    [taken] = parents["files"]
    assert taken["reused"] is True
    source = taken["source"]
    assert source["database_name"] == POPULATION
    assert source["record_ids"] == [f"DC-{mother[-4:]}", f"DC-{father[-4:]}"]
    assert source["fields"] == ["ho_ten", "ngay_sinh", "dan_toc", "quoc_tich", "noi_cu_tru"]
    assert len(source["sha256"]) == 64 and source["fetched_at"]
    assert view["checklist"]["complete"] is True

    # Asked once, by POST with the ID numbers in the body (never in a URL), for the fields
    # the catalog names, with the consent's purpose.
    [lookup] = data_source_server.asked_about(mother)
    assert lookup["subject_ids"] == [mother, father]
    assert lookup["fields"] == source["fields"]
    assert lookup["purpose"]["consented_by"] == person.sub
    assert lookup["purpose"]["component"] == PARENTS and lookup["purpose"]["dossier"] == code

    # The consent and the reuse are recorded; the events keep no ID number of the parents.
    events = await events_of(api, http, code)
    submitted = next(e for e in events if e["kind"] == "submitted")
    [consent] = submitted["data"]["data_consents"]
    assert (consent["component"], consent["consented_by"]) == (PARENTS, person.sub)
    assert consent["confirmed_by"] is None and consent["consented_at"]
    [reused] = [e for e in events if e["kind"] == "data_reused"]
    assert reused["data"]["consent"]["consented_by"] == person.sub
    assert reused["data"]["answer"] == "found"
    text = json.dumps(events)
    assert mother not in text and father not in text and "Trần Thị Mẹ" not in text

    # Listed with the dossier's documents as taken from the database (no file).
    r = await http.get(f"/v1/dossiers/{code}/documents", headers=api.headers(*INTAKE))
    assert r.status_code == 200, r.text
    [row] = [d for d in r.json()["documents"] if d["form"] == PARENTS]
    assert row["source"] == "database" and row["sha256"] == source["sha256"]
    r = await http.get(row["href"], headers=api.headers(*INTAKE))
    assert "no file" in error_of(r, 404, "not_found")

    # Complete: the intake officer receives it, and the 766 reuse figure counts it.
    r = await act(api, http, code, INTAKE, "accept", comment="Đủ thành phần")
    assert r.status_code == 200, r.text
    await caught_up(api, http, code)
    reused_after, received_after = await reused_this_month(api, http)
    assert (reused_after, received_after) == (reused_before + 1, received_before + 1)


# not_found: no record of the father; mismatch: the platform says his record disagrees;
# declared: the records come, but the mother's name is not the one the citizen declared.
FAULTS = {
    "not_found": ("not_found", f"không có dữ liệu trong {POPULATION}"),
    "mismatch": ("mismatch", f"dữ liệu trong {POPULATION} không khớp với tờ khai (ngay_sinh)"),
    "declared": ("mismatch", f"dữ liệu trong {POPULATION} không khớp với tờ khai (ho_ten)"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_a_missing_or_wrong_record_becomes_one_supplement_request_and_one_correction(
    api: Api, http: httpx.AsyncClient, data_source_server: DataSourceServer, fault: str
) -> None:
    person = api.person(f"khai sinh {fault}")
    mother, father = parents_ids()
    data_source_server.add("population", mother, "DC-M", ho_ten="Phạm Thị Mẹ")
    if fault != "not_found":
        data_source_server.add("population", father, "DC-F", ho_ten="Đỗ Văn Cha")
    if fault == "mismatch":
        data_source_server.wrong("population", father, ["ngay_sinh"])
    declared = [{"ho_ten": "Phạm Thị Khác"}] if fault == "declared" else []

    code = await filed(http, birth(person, mother, father, *declared), api.applicant(person))
    view = await wait_view(
        api, http, code, lambda v: v["status"] == "supplement_requested", "the supplement request"
    )
    parents = item(view)
    assert parents["missing"] is True and parents["files"] == []
    outcome, expected_issue = FAULTS[fault]
    assert (parents["data_outcome"], parents["data_issue"]) == (outcome, expected_issue)

    events = await events_of(api, http, code)
    kinds = [e["kind"] for e in events]
    assert kinds.count("request_supplement") == 1
    assert kinds.count("database_correction_requested") == 1
    assert kinds.count("data_not_supplied") == 1 and "data_reused" not in kinds
    [request] = [e for e in events if e["kind"] == "request_supplement"]
    assert request["role"] == "system"
    [line] = request["data"]["missing"]
    assert parents["name"] in line and expected_issue in line
    [correction] = [e for e in events if e["kind"] == "database_correction_requested"]
    assert "điều chỉnh" in correction["comment"] and parents["name"] in correction["comment"]
    # The applicant is told (on the portal: the dossier was filed there, no phone given).
    told = await asyncio.to_thread(repository.list_outbox, api.engine, code)
    [notice] = [m for m in told if m.event_id == correction["id"]]
    assert notice.subject == "Đề nghị điều chỉnh thông tin trong cơ sở dữ liệu"
    assert notice.recipient == f"portal:{person.sub}" and parents["name"] in notice.body
    assert view["supplement_requests"] == 1
    assert len(data_source_server.asked_about(mother)) == 1

    # The intake officer cannot receive it meanwhile; the citizen supplements the papers.
    error_of(await act(api, http, code, INTAKE, "accept"), 409)
    paper = {
        "kind": PARENTS,
        "filename": "cccd-cha-me.jpg",
        "content_base64": b64(jpeg(f"cccd {mother} {father}")),
    }
    r = await http.post(
        f"/v1/dossiers/{code}/supplements",
        json={"documents": [paper]},
        headers=api.applicant(person),
    )
    assert r.status_code == 200, r.text
    view = await wait_view(api, http, code, lambda v: v["status"] == "submitted", "supplemented")
    assert item(view)["missing"] is False
    r = await act(api, http, code, INTAKE, "accept")
    assert r.status_code == 200, r.text
    # Still one request, and the database was not asked again.
    assert r.json()["supplement_requests"] == 1
    assert len(data_source_server.asked_about(mother)) == 1


async def test_a_consent_names_a_component_a_database_supplies(
    api: Api, http: httpx.AsyncClient
) -> None:
    person = api.person("khai sinh sai")
    mother, father = parents_ids()
    body = birth(person, mother, father)
    body["data_consents"][0]["component"] = "giay_chung_sinh"
    r = await http.post("/v1/dossiers", json=body, headers=api.applicant(person))
    assert "thong_tin_cha_me" in error_of(r, 422, "invalid")
    body = birth(person, mother, father)
    body["data_consents"][0]["consent"] = False
    error_of(await http.post("/v1/dossiers", json=body, headers=api.applicant(person)), 422)


async def test_at_the_counter_the_officer_records_the_consent_and_decides_on_a_missing_record(
    api: Api, http: httpx.AsyncClient, data_source_server: DataSourceServer
) -> None:
    person = api.person("khai sinh quầy")
    mother, father = family(data_source_server, "Vũ Thị Mẹ")  # no record of the father
    body = birth(person, mother, father)
    body["channel"] = "counter"
    code = await filed(http, body, api.headers(*INTAKE))
    view = await wait_view(
        api, http, code, lambda v: item(v)["data_outcome"] is not None, "the database's answer"
    )
    # The officer holds the papers at the counter: nothing is asked automatically.
    assert view["status"] == "submitted" and view["supplement_requests"] == 0
    assert item(view)["data_issue"] == f"không có dữ liệu trong {POPULATION}"
    events = await events_of(api, http, code)
    [consent] = next(e for e in events if e["kind"] == "submitted")["data"]["data_consents"]
    assert consent["consented_by"] == "applicant"
    assert consent["confirmed_by"] == f"{INTAKE[0].value}@{INTAKE[1]}"
    kinds = [e["kind"] for e in events]
    assert kinds.count("database_correction_requested") == 1
    assert "request_supplement" not in kinds


async def test_a_database_that_fails_for_a_while_is_asked_again_until_it_answers(
    api: Api, http: httpx.AsyncClient, data_source_server: DataSourceServer
) -> None:
    person = api.person("khai sinh chờ")
    mother, father = family(data_source_server, "Mẹ", "Cha")
    data_source_server.failures = 2  # 503 twice, then the records
    code = await filed(http, birth(person, mother, father), api.applicant(person))
    view = await wait_view(api, http, code, lambda v: item(v)["files"], "the parents' data")
    assert item(view)["data_outcome"] == "found" and view["status"] == "submitted"
    assert len(data_source_server.asked_about(mother)) == 3
