"""Linked groups (một cửa liên thông) end to end over HTTP, with every agency's worker on
its own task queue: the newborn group (2.000986: birth registration at the commune, then
residence at the commune police and the health insurance card at social insurance, side
by side) filed at the commune centre, each sub-dossier acknowledged and resolved by its
own agency's officers; and the karaoke group (9.000004, in sequence), whose first
sub-dossier is refused at its intake, which refuses the group.

A child dossier's code is "<group code>.<n>". Each journey runs twice: with the child
dossiers reached over HTTP, and through the service the route calls
(`DossierService.act`, with the actor the route would build from the token)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from temporalio.service import RPCError, RPCStatusCode

from domain.catalog import Role
from tests.api.support import (
    AUDITOR,
    CENTRE,
    CHILD_DOORS,
    COMMUNE,
    COMMUNE_CENTRE,
    Api,
    ChildDoor,
    Person,
    act,
    caught_up,
    document,
    error_of,
    fee_due,
    path_code,
    wait_closed,
    wait_view,
)
from tests.files import pdf

NEWBORN = "2.000986"
BIRTH, RESIDENCE, HEALTH_CARD = "1.001193", "1.004222", "9.000001"
COMMUNE_POLICE = "000.20.31.H99"
SOCIAL_INSURANCE = "000.00.22.H99"

KARAOKE = "9.000004"
HOUSEHOLD_BUSINESS, SECURITY, KARAOKE_LICENCE = "1.001612", "9.000005", "1.001029"
CULTURE = "000.00.15.H99"


def group_submission(procedure: str, person: Person, kinds: list[str], **kw: Any) -> dict[str, Any]:
    return {
        "procedure_code": procedure,
        "applicant": {
            "name": person.name,
            "id_number": person.id_number,
            "phone": "0912345678",
            "address": "Xã Hòa An",
        },
        "channel": "counter",
        "documents": [document(k, f"{k}.pdf", pdf(f"{k} {person.id_number}")) for k in kinds],
        **kw,
    }


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def holder(view: dict[str, Any]) -> tuple[str, str, str | None]:
    h = view["holder"]
    return (h["action"], h["role"], h["agency"])


async def track(api: Api, http: httpx.AsyncClient, code: str, id_number: str) -> dict[str, Any]:
    await caught_up(api, http, code)
    r = await http.get(f"/v1/track/{path_code(code)}", params={"id_number": id_number})
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


@pytest.mark.parametrize("over_http", CHILD_DOORS)
async def test_newborn_group_runs_each_child_at_its_own_agency(
    api: Api, http: httpx.AsyncClient, over_http: bool
) -> None:
    door = ChildDoor(api, http, over_http)
    person = api.person("khai sinh")
    centre_intake = (Role.INTAKE_OFFICER, COMMUNE_CENTRE)
    centre_return = (Role.RETURN_OFFICER, COMMUNE_CENTRE)

    # -- filed at the commune centre
    body = group_submission(
        NEWBORN, person, ["to_khai_lien_thong", "giay_chung_sinh"], centre_agency=COMMUNE_CENTRE
    )
    r = await http.post("/v1/dossiers", json=body, headers=api.headers(*centre_intake))
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    assert code.startswith(f"{COMMUNE}-"), code
    r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*centre_intake))
    assert r.status_code == 200, r.text
    view = r.json()
    assert (view["centre_agency"], view["competent_agency"]) == (COMMUNE_CENTRE, COMMUNE)
    assert [s["step_id"] for s in view["steps"]] == ["tiep_nhan", "lien_thong", "tra_ket_qua"]
    assert holder(view) == ("accept", "intake_officer", COMMUNE_CENTRE)
    assert view["children"] == []

    # The provincial centre's officers do not hold (nor see) the commune centre's dossier.
    r = await act(api, http, code, (Role.INTAKE_OFFICER, CENTRE), "accept")
    assert "không hiển thị với" in error_of(r, 403, "forbidden")

    r = await act(api, http, code, centre_intake, "accept", comment="Hồ sơ liên thông đầy đủ")
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["current_step"]["step_id"] == "lien_thong"
    assert view["appointment_at"] is not None

    # -- the birth registration first, acknowledged by the commune's own worker
    view = await wait_view(
        api,
        http,
        code,
        lambda v: v["children"] and v["children"][0]["acknowledged_at"],
        "the commune acknowledges the birth registration",
    )
    birth, residence, card = view["children"]
    assert [(c["code"], c["procedure_code"], c["agency"]) for c in view["children"]] == [
        (f"{code}.1", BIRTH, COMMUNE),
        (f"{code}.2", RESIDENCE, COMMUNE_POLICE),
        (f"{code}.3", HEALTH_CARD, SOCIAL_INSURANCE),
    ]
    assert birth["acknowledged_by"] == f"motcua-agency-{COMMUNE}"
    assert birth["started_at"] is not None and birth["finished_at"] is None
    assert residence["started_at"] is None and card["started_at"] is None  # after the birth
    assert view["status"] == "in_progress" and view["holder"] is None

    tracked = await track(api, http, code, person.id_number)
    assert tracked["status"] == "in_progress" and tracked["step"].startswith(
        "Giải quyết liên thông"
    )

    # -- the birth sub-dossier: the commune's officers, not the centre's
    child = await door.view(birth["code"])
    assert child["parent_code"] == code and child["procedure_code"] == BIRTH
    assert (child["centre_agency"], child["competent_agency"]) == (COMMUNE, COMMUNE)
    assert child["status"] == "submitted"
    assert holder(child) == ("accept", "intake_officer", COMMUNE)
    status, answer = await door.act(birth["code"], centre_intake, "accept")
    assert status == 403 and answer["error"]["code"] == "forbidden", answer
    done = await door.resolve(birth["code"], COMMUNE)
    assert (done["status"], done["outcome"]) == ("returned", "granted")

    # -- then residence and the health insurance card together, each at its agency
    view = await wait_view(
        api,
        http,
        code,
        lambda v: all(c["acknowledged_at"] for c in v["children"]),
        "the commune police and social insurance acknowledge",
    )
    birth, residence, card = view["children"]
    assert (birth["outcome"], birth["status"]) == ("granted", "returned")
    # Side by side: both at their agencies, neither waiting for the other to finish.
    assert residence["finished_at"] is None and card["finished_at"] is None
    assert at(residence["started_at"]) >= at(birth["finished_at"])
    assert residence["acknowledged_by"] == f"motcua-agency-{COMMUNE_POLICE}"
    assert card["acknowledged_by"] == f"motcua-agency-{SOCIAL_INSURANCE}"
    assert view["status"] == "in_progress"

    child = await door.view(residence["code"])
    assert holder(child) == ("accept", "intake_officer", COMMUNE_POLICE)
    assert "signature" not in [s["kind"] for s in child["steps"]]
    # A sub-dossier's officers are its own agency's: the commune's are not the police's.
    status, answer = await door.act(residence["code"], (Role.INTAKE_OFFICER, COMMUNE), "accept")
    assert status == 403 and answer["error"]["code"] == "forbidden", answer
    done = await door.resolve(residence["code"], COMMUNE_POLICE)
    assert (done["status"], done["outcome"]) == ("returned", "granted")
    view = await wait_view(
        api, http, code, lambda v: v["children"][1]["finished_at"], "residence finished"
    )
    assert view["status"] == "in_progress" and view["children"][2]["finished_at"] is None
    done = await door.resolve(card["code"], SOCIAL_INSURANCE)
    assert (done["status"], done["outcome"]) == ("returned", "granted")

    # -- the group is processed; the commune centre returns the three results
    view = await wait_view(
        api, http, code, lambda v: v["status"] == "processed", "the group is processed"
    )
    assert view["current_step"]["step_id"] == "tra_ket_qua"
    assert holder(view) == ("return", "return_officer", COMMUNE_CENTRE)
    assert [(c["outcome"], c["status"]) for c in view["children"]] == [("granted", "returned")] * 3
    r = await act(api, http, code, (Role.RETURN_OFFICER, SOCIAL_INSURANCE), "return")
    error_of(r, 403, "forbidden")
    r = await act(
        api,
        http,
        code,
        centre_return,
        "return",
        data={"channel": "counter", "received_by": person.name},
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert (view["status"], view["outcome"]) == ("returned", "granted")
    await wait_closed(api, code)

    # -- the record: each child started, acknowledged by its agency's worker, finished
    await caught_up(api, http, code)
    r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*AUDITOR))
    assert r.status_code == 200, r.text
    events = r.json()["events"]
    children = {c["code"]: c["agency"] for c in view["children"]}
    seen: dict[str, list[str]] = {}
    for e in events:
        if e["kind"].startswith("child_"):
            assert e["data"]["child"] in children, e
            seen.setdefault(e["kind"], []).append(e["data"]["child"])
            if e["kind"] == "child_started":
                assert e["data"]["to_agency"] == children[e["data"]["child"]], e
            if e["kind"] == "child_acknowledged":
                assert e["data"]["worker"] == f"motcua-agency-{children[e['data']['child']]}", e
            if e["kind"] == "child_finished":
                assert e["data"]["outcome"] == "granted", e
    for kind in ("child_started", "child_acknowledged", "child_finished"):
        assert sorted(seen[kind]) == sorted(children), (kind, seen)
    kinds = [(e["kind"], e["data"].get("child")) for e in events]
    first, second, third = view["children"]
    assert kinds.index(("child_finished", first["code"])) < kinds.index(
        ("child_started", second["code"])
    )
    assert kinds.index(("child_finished", first["code"])) < kinds.index(
        ("child_started", third["code"])
    )

    tracked = await track(api, http, code, person.id_number)
    assert (tracked["status"], tracked["status_code"]) == ("returned", 10)
    r = await http.get(f"/v1/track/{code}", params={"id_number": "000000000000"})
    error_of(r, 404, "not_found")


@pytest.mark.parametrize("over_http", CHILD_DOORS)
async def test_a_child_refused_at_its_intake_refuses_the_group(
    api: Api, http: httpx.AsyncClient, over_http: bool
) -> None:
    door = ChildDoor(api, http, over_http)
    person = api.person("karaoke")
    intake = (Role.INTAKE_OFFICER, CENTRE)
    body = group_submission(
        KARAOKE, person, ["to_khai_dien_tu", "van_ban_nghiem_thu_pccc", "phieu_ly_lich_tu_phap"]
    )
    r = await http.post("/v1/dossiers", json=body, headers=api.headers(*intake))
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    r = await act(api, http, code, intake, "accept")
    assert r.status_code == 200, r.text

    view = await wait_view(
        api,
        http,
        code,
        lambda v: v["children"] and v["children"][0]["acknowledged_at"],
        "the commune acknowledges the household business registration",
    )
    first, second, third = view["children"]
    assert [c["procedure_code"] for c in view["children"]] == [
        HOUSEHOLD_BUSINESS,
        SECURITY,
        KARAOKE_LICENCE,
    ]
    assert [c["agency"] for c in view["children"]] == [COMMUNE, COMMUNE_POLICE, CULTURE]
    assert first["acknowledged_by"] == f"motcua-agency-{COMMUNE}"

    # -- the commune refuses the household business registration at its intake
    status, answer = await door.act(first["code"], (Role.INTAKE_OFFICER, COMMUNE), "refuse")
    assert status == 422 and answer["error"]["code"] == "invalid", answer  # needs a reason
    child = await door.done(
        first["code"],
        (Role.INTAKE_OFFICER, COMMUNE),
        "refuse",
        comment="Tên hộ kinh doanh trùng với hộ kinh doanh đã đăng ký",
    )
    assert (child["status"], child["outcome"]) == ("not_received", "not_received")

    view = await wait_view(
        api, http, code, lambda v: v["status"] == "processed", "the group is refused"
    )
    assert view["outcome"] == "refused" and view["decided_at"] is not None
    assert view["current_step"]["step_id"] == "tra_ket_qua"
    assert holder(view) == ("return", "return_officer", CENTRE)
    first, second, third = view["children"]
    assert (first["outcome"], first["status"]) == ("not_received", "not_received")
    for later in (second, third):
        assert later["started_at"] is None and later["acknowledged_at"] is None, later
        with pytest.raises(RPCError) as exc:  # no sub-dossier at the police or the department
            await api.client.get_workflow_handle(later["code"]).describe()
        assert exc.value.status is RPCStatusCode.NOT_FOUND

    await caught_up(api, http, code)
    r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*AUDITOR))
    events = r.json()["events"]
    kinds = [e["kind"] for e in events]
    assert kinds.count("child_started") == 1 and kinds.count("child_finished") == 1, kinds
    [decision] = [e for e in events if e["kind"] == "reject"]
    assert first["code"] in decision["comment"] and decision["data"]["outcome"] == "refused"

    # The centre hands the refusal back; the group ends refused.
    # Its fees (collected at intake, where nobody took them) are paid before the return.
    pay = {"amount_vnd": fee_due(KARAOKE), "method": "cash"}
    r = await act(api, http, code, (Role.RETURN_OFFICER, CENTRE), "pay", data=pay)
    assert r.status_code == 200, r.text
    r = await act(api, http, code, (Role.RETURN_OFFICER, CENTRE), "return")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["outcome"]) == ("returned", "refused")
    tracked = await track(api, http, code, person.id_number)
    assert tracked["status"] == "returned"


async def test_a_child_dossier_is_addressable_over_http(api: Api, http: httpx.AsyncClient) -> None:
    """Reading, acting on, listing the events of and tracking a sub-dossier by its code
    ('/' sent as %2F), with the child agency's token."""
    person = api.person("con")
    intake = (Role.INTAKE_OFFICER, COMMUNE_CENTRE)
    body = group_submission(NEWBORN, person, ["to_khai_lien_thong"], centre_agency=COMMUNE_CENTRE)
    r = await http.post("/v1/dossiers", json=body, headers=api.headers(*intake))
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    r = await act(api, http, code, intake, "accept")
    assert r.status_code == 200, r.text
    view = await wait_view(
        api,
        http,
        code,
        lambda v: v["children"] and v["children"][0]["acknowledged_at"],
        "the birth registration is acknowledged",
    )
    child = path_code(view["children"][0]["code"])
    officer = api.headers(Role.INTAKE_OFFICER, COMMUNE)

    r = await http.get(f"/v1/dossiers/{child}", headers=officer)
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.json()["code"] == view["children"][0]["code"] and r.json()["parent_code"] == code
    r = await http.post(f"/v1/dossiers/{child}/actions", json={"action": "accept"}, headers=officer)
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.json()["current_step"]["step_id"] == "kiem_tra"
    await caught_up(api, http, view["children"][0]["code"])
    r = await http.get(f"/v1/dossiers/{child}/events", headers=officer)
    assert r.status_code == 200, (r.status_code, r.text)
    assert "accept" in [e["kind"] for e in r.json()["events"]]
    r = await http.get(f"/v1/track/{child}", params={"id_number": person.id_number})
    assert r.status_code == 200, (r.status_code, r.text)
