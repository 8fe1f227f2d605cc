"""Who sees an applicant's personal data through the API (docs/personal-data.md, "Who
sees personal data"): the applicant, the officers of the agencies on the dossier and
auditors see the name, ID number, phone, e-mail and address in clear; an administrator
sees them masked; callers who may not read the dossier get nothing; public tracking shows
none of it.

One judicial record certificate dossier (3.000333), submitted online by its applicant and
walked to its return at the counter (the return records who received the result), read by
every caller class on the detail, the list, the worklist, the events and public tracking.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pypdf import PdfReader

from api.auth import issue_token
from domain.catalog import Role
from tests.api.support import (
    AUDITOR,
    CENTRE,
    INTAKE,
    LEADER,
    POLICE,
    RETURNER,
    SIGNER,
    SPECIALIST,
    TAX,
    Api,
    Person,
    act,
    caught_up,
    fee_due,
    submission,
    wait_closed,
    wait_for_step,
)

PHONE = "0987001122"
EMAIL = "rieng.tu@example.vn"
ADDRESS = "Số 9 ngõ Kín, phường Ẩn Danh, Hạ Long"


@dataclass
class Walked:
    code: str
    person: Person
    tag: str
    worklist_at_appraisal: dict[str, Any]


def own_headers(api: Api, person: Person) -> dict[str, str]:
    """The applicant's own token, their name in it as an identity provider puts it."""
    token = issue_token(api.settings, sub=person.sub, roles=[Role.APPLICANT], name=person.name)
    return {"Authorization": f"Bearer {token}"}


def headers_of(api: Api, caller: str, person: Person) -> dict[str, str] | None:
    """Every caller class of the test, by name (None: no token, public tracking)."""
    if caller == "owner":
        return own_headers(api, person)
    if caller == "other applicant":
        return api.headers(Role.APPLICANT, None, f"citizen-other-{uuid.uuid4().hex[:6]}")
    if caller == "admin and auditor":
        token = issue_token(
            api.settings, sub="admin-auditor", roles=[Role.ADMIN, Role.AUDITOR], name="Quản trị"
        )
        return {"Authorization": f"Bearer {token}"}
    role, agency = CALLERS[caller]
    return api.headers(role, agency)


CALLERS: dict[str, tuple[Role, str | None]] = {
    "centre intake officer": INTAKE,
    "handoff agency specialist": SPECIALIST,
    "handoff agency leader": LEADER,
    "return officer": RETURNER,
    "specialist of an agency not on the dossier": (Role.SPECIALIST, TAX),
    "leader of an agency not on the dossier": (Role.LEADER, TAX),
    "auditor": AUDITOR,
    "admin": (Role.ADMIN, None),
}
# Exactly who sees what: in clear, masked, or nothing (403 / not listed).
CLEAR = [
    "owner",
    "centre intake officer",
    "handoff agency specialist",
    "handoff agency leader",
    "return officer",
    "auditor",
    "admin and auditor",
]
MASKED = ["admin"]
NOTHING = [
    "other applicant",
    "specialist of an agency not on the dossier",
    "leader of an agency not on the dossier",
]


def test_the_caller_classes_are_all_judged() -> None:
    everyone = {*CALLERS, "owner", "other applicant", "admin and auditor"}
    assert sorted(CLEAR + MASKED + NOTHING) == sorted(everyone)


@pytest.fixture(scope="module")
async def walked(api: Api) -> Walked:
    tag = f"Kín{uuid.uuid4().hex[:6]}"
    person = api.person(tag)
    body = submission(person, channel="online")
    body["applicant"].update(phone=PHONE, email=EMAIL, address=ADDRESS)
    async with api.http() as http:
        r = await http.post("/v1/dossiers", json=body, headers=own_headers(api, person))
        assert r.status_code == 201, r.text
        code: str = r.json()["code"]
        steps: list[tuple[tuple[Role, str | None], str, dict[str, Any]]] = [
            (INTAKE, "pay", {"amount_vnd": fee_due(), "method": "cash"}),
            (INTAKE, "accept", {}),
            (SPECIALIST, "appraise", {"opinion": "Không có án tích", "recommendation": "grant"}),
            (LEADER, "approve", {}),
            (SIGNER, "sign", {"document": "phieu.pdf"}),
            (RETURNER, "return", {"channel": "counter"}),  # received by the applicant
        ]
        worklist: dict[str, Any] = {}
        for who, action, data in steps:
            if action == "appraise":
                await wait_for_step(api, http, code, "tra_cuu_xac_minh")
                await caught_up(api, http, code)
                r = await http.get("/v1/worklist", headers=api.headers(*SPECIALIST))
                assert r.status_code == 200, r.text
                worklist = next(i for i in r.json()["items"] if i["code"] == code)
            r = await act(api, http, code, who, action, data=data)
            assert r.status_code == 200, (action, r.text)
        await wait_closed(api, code)
        await caught_up(api, http, code)
    return Walked(code=code, person=person, tag=tag, worklist_at_appraisal=worklist)


def initials(name: str) -> str:
    """The masked name: `Nguyễn Văn An` -> `N*** V*** A***`."""
    return " ".join(word[0] + "***" for word in name.split())


def personal_values(walked: Walked) -> list[str]:
    p = walked.person
    return [p.name, p.id_number, PHONE, EMAIL, ADDRESS]


def assert_nothing_personal(text: str, walked: Walked) -> None:
    for secret in personal_values(walked):
        assert secret not in text, secret


@pytest.mark.parametrize("caller", CLEAR + MASKED + NOTHING)
async def test_the_detail(api: Api, http: httpx.AsyncClient, walked: Walked, caller: str) -> None:
    r = await http.get(
        f"/v1/dossiers/{walked.code}", headers=headers_of(api, caller, walked.person)
    )
    if caller in NOTHING:
        assert r.status_code == 403, r.text
        assert_nothing_personal(r.text, walked)
        return
    assert r.status_code == 200, r.text
    applicant = r.json()["applicant"]
    p = walked.person
    if caller in CLEAR:
        assert applicant == {
            "masked": False,
            "name": p.name,
            "id_number": p.id_number,
            "phone": PHONE,
            "email": EMAIL,
            "address": ADDRESS,
        }
        return
    assert applicant == {
        "masked": True,
        "name": initials(p.name),
        "id_number": p.id_number[:4] + "******" + p.id_number[-2:],
        "phone": "09******22",
        "email": "r***@example.vn",
        "address": None,
    }
    assert_nothing_personal(r.text, walked)


@pytest.mark.parametrize("caller", CLEAR + MASKED + NOTHING)
async def test_the_list(api: Api, http: httpx.AsyncClient, walked: Walked, caller: str) -> None:
    r = await http.get(
        "/v1/dossiers",
        params={"q": walked.code},
        headers=headers_of(api, caller, walked.person),
    )
    assert r.status_code == 200, r.text
    found = [i for i in r.json()["items"] if i["code"] == walked.code]
    if caller in NOTHING:
        assert found == []
        assert_nothing_personal(r.text, walked)
        return
    assert len(found) == 1, r.json()
    name = found[0]["applicant_name"]
    if caller in CLEAR:
        assert name == walked.person.name
    else:
        assert name == initials(walked.person.name)
        assert_nothing_personal(r.text, walked)


@pytest.mark.parametrize("caller", ["admin", "auditor", "admin and auditor", "owner"])
async def test_a_search_by_name_confirms_nothing_to_whoever_sees_it_masked(
    api: Api, http: httpx.AsyncClient, walked: Walked, caller: str
) -> None:
    r = await http.get(
        "/v1/dossiers",
        params={"q": walked.person.name},
        headers=headers_of(api, caller, walked.person),
    )
    assert r.status_code == 200, r.text
    found = walked.code in {i["code"] for i in r.json()["items"]}
    assert found is (caller in CLEAR)


@pytest.mark.parametrize("caller", CLEAR + MASKED + NOTHING)
async def test_the_events(api: Api, http: httpx.AsyncClient, walked: Walked, caller: str) -> None:
    """The submission records who submitted (the applicant, by their token's name), the
    return who received the result (the applicant, by name)."""
    r = await http.get(
        f"/v1/dossiers/{walked.code}/events", headers=headers_of(api, caller, walked.person)
    )
    if caller in NOTHING:
        assert r.status_code == 403, r.text
        return
    assert r.status_code == 200, r.text
    returned = [e for e in r.json()["events"] if e["kind"] == "return"]
    assert len(returned) == 1
    received_by = returned[0]["data"]["received_by"]
    submitted = r.json()["events"][0]
    assert (submitted["kind"], submitted["role"]) == ("submitted", "applicant")
    if caller in CLEAR:
        assert received_by == walked.person.name
        assert submitted["actor_name"] == walked.person.name
    else:
        assert received_by == initials(walked.person.name)
        assert submitted["actor_name"] == initials(walked.person.name)
        assert returned[0]["data"]["channel"] == "counter"
        assert_nothing_personal(r.text, walked)


async def test_the_worklist_shows_the_name_to_the_officer_who_must_act(walked: Walked) -> None:
    item = walked.worklist_at_appraisal
    assert item["applicant_name"] == walked.person.name
    assert (item["current_agency"], item["centre_agency"]) == (POLICE, CENTRE)


async def test_public_tracking_shows_no_personal_data_at_all(
    http: httpx.AsyncClient, walked: Walked
) -> None:
    r = await http.get(f"/v1/track/{walked.code}", params={"id_number": walked.person.id_number})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "returned"
    assert_nothing_personal(r.text, walked)
    # Not even masked: nothing about the applicant.
    assert "applicant" not in r.text and "***" not in r.text


def squeezed(text: str) -> str:
    return "".join(text.split())  # table cells wrap


@pytest.mark.parametrize("caller", ["handoff agency leader", "auditor", "admin"])
async def test_the_tracking_book(
    api: Api, http: httpx.AsyncClient, walked: Walked, caller: str
) -> None:
    """Form 07 of the deciding agency lists every applicant of the month by name."""
    month = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m")
    r = await http.get(
        f"/v1/agencies/{POLICE}/tracking-book",
        params={"period": month},
        headers=headers_of(api, caller, walked.person),
    )
    assert r.status_code == 200, r.text
    text = squeezed("".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages))
    assert squeezed(walked.code) in text
    name = squeezed(walked.person.name)
    if caller == "admin":
        assert name not in text
        assert squeezed(initials(walked.person.name)) in text
    else:
        assert name in text
