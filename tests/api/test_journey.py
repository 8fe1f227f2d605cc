"""A judicial record certificate dossier (3.000333) walked over HTTP through every step,
each by the role and agency that owns it, with every step also attempted by a wrong role
(403) and at a wrong step (409); the refusals are in the dossier's events."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from domain.catalog import Role
from tests.api.support import (
    AUDITOR,
    CENTRE,
    INTAKE,
    LEADER,
    POLICE,
    PROCEDURE,
    RETURNER,
    SIGNER,
    SPECIALIST,
    Api,
    act,
    caught_up,
    document,
    error_of,
    submission,
    wait_closed,
    wait_for_step,
)


def allowed(view: dict[str, Any]) -> set[tuple[str, str, str | None]]:
    return {(a["action"], a["role"], a["agency"]) for a in view["allowed_actions"]}


def holder(view: dict[str, Any]) -> tuple[str, str, str | None]:
    h = view["holder"]
    return (h["action"], h["role"], h["agency"])


async def refused(
    api: Api,
    http: httpx.AsyncClient,
    code: str,
    who: tuple[Role, str | None],
    action: str,
    status: int,
    error: str,
    **body: Any,
) -> str:
    r = await act(api, http, code, who, action, **body)
    return error_of(r, status, error)


async def test_every_step_by_the_right_role_and_refused_to_the_wrong_ones(
    api: Api, http: httpx.AsyncClient
) -> None:
    person = api.person()
    expected_refusals: list[tuple[str, str, str | None, str]] = []

    async def wrong(
        who: tuple[Role, str | None], action: str, status: int, error: str, **body: Any
    ) -> str:
        message = await refused(api, http, code, who, action, status, error, **body)
        expected_refusals.append((action, who[0].value, who[1], error))
        return message

    # -- submission at the counter by the centre's intake officer
    r = await http.post("/v1/dossiers", json=submission(person), headers=api.headers(*INTAKE))
    assert r.status_code == 201, r.text
    created = r.json()
    code = created["code"]
    assert code.startswith(f"{POLICE}-")
    assert r.headers["Location"] == f"/v1/dossiers/{code}"
    assert created["status"] == "submitted" and created["status_code"] == 1
    assert created["links"]["self"]["href"] == f"/v1/dossiers/{code}"
    assert created["links"]["actions"] == {"href": f"/v1/dossiers/{code}/actions", "method": "POST"}

    r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*INTAKE))
    assert r.status_code == 200, r.text
    view = r.json()
    assert (view["procedure_code"], view["centre_agency"], view["competent_agency"]) == (
        PROCEDURE,
        CENTRE,
        POLICE,
    )
    assert view["status"] == "submitted" and view["current_step"]["step_id"] == "tiep_nhan"
    assert holder(view) == ("accept", "intake_officer", CENTRE)
    assert {
        ("accept", "intake_officer", CENTRE),
        ("request_supplement", "intake_officer", CENTRE),
        ("refuse", "intake_officer", CENTRE),
        ("withdraw", "intake_officer", CENTRE),
    } <= allowed(view)
    assert not any(a[1] == "specialist" for a in allowed(view))
    assert [s["step_id"] for s in view["steps"]] == [
        "tiep_nhan",
        "chuyen_ho_so",
        "tra_cuu_xac_minh",
        "phe_duyet",
        "ky_phieu",
        "tra_ket_qua",
    ]

    # -- intake: wrong role, right role of a wrong agency, wrong step
    message = await wrong(SPECIALIST, "accept", 403, "forbidden")
    assert "phải do cán bộ tiếp nhận (intake_officer) của 000.00.01.H99" in message, message
    assert "là chuyên viên (specialist)" in message, message
    # The same refusal (the machine's, through the workflow's update) in English on request.
    r = await http.post(
        f"/v1/dossiers/{code}/actions",
        json={"action": "accept"},
        headers=api.headers(*SPECIALIST) | {"Accept-Language": "en"},
    )
    expected_refusals.append(("accept", SPECIALIST[0].value, SPECIALIST[1], "forbidden"))
    english = error_of(r, 403, "forbidden")
    assert f"'accept' on {code} must be taken by intake_officer of 000.00.01.H99" in english
    assert "specialist" in english
    message = await wrong((Role.INTAKE_OFFICER, POLICE), "accept", 403, "forbidden")
    assert POLICE in message
    message = await wrong(INTAKE, "appraise", 409, "wrong_step", data={"opinion": "x"})
    assert "tiep_nhan" in message
    await wrong(INTAKE, "sign", 409, "wrong_step")

    # The fee (200.000 đồng) is collected at intake, the step's name says so.
    r = await act(api, http, code, INTAKE, "pay", data={"amount_vnd": 200_000, "method": "cash"})
    assert r.status_code == 200, r.text
    r = await act(api, http, code, INTAKE, "accept", comment="Hồ sơ đầy đủ")
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["status"] in ("received", "in_progress")
    assert view["received_at"] is not None and view["appointment_at"] is not None

    # -- handoff: automatic, acknowledged by the police's own worker
    view = await wait_for_step(api, http, code, "tra_cuu_xac_minh")
    assert view["status"] == "in_progress" and view["status_code"] == 4
    assert [a["agency"] for a in view["handoff_acks"]] == [POLICE]
    assert holder(view) == ("appraise", "specialist", POLICE)
    assert ("appraise", "specialist", POLICE) in allowed(view)
    await wrong(INTAKE, "accept", 409, "wrong_step")

    # -- appraisal
    await wrong(LEADER, "appraise", 403, "forbidden", data={"opinion": "Không có án tích"})
    await wrong(SPECIALIST, "approve", 409, "wrong_step")
    message = await wrong(SPECIALIST, "appraise", 422, "invalid", data={"recommendation": "x"})
    assert "opinion" in message or "recommendation" in message
    r = await act(
        api,
        http,
        code,
        SPECIALIST,
        "appraise",
        data={"opinion": "Không có án tích", "recommendation": "grant"},
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["current_step"]["step_id"] == "phe_duyet"
    assert holder(view) == ("approve", "leader", POLICE)

    # -- approval
    await wrong(SPECIALIST, "approve", 403, "forbidden")
    await wrong(LEADER, "sign", 409, "wrong_step")
    r = await act(api, http, code, LEADER, "approve", comment="Đồng ý cấp Phiếu")
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["current_step"]["step_id"] == "ky_phieu"
    assert holder(view) == ("sign", "signer", POLICE)

    # -- signature
    await wrong(LEADER, "sign", 403, "forbidden")
    await wrong(SIGNER, "return", 409, "wrong_step")
    r = await act(api, http, code, SIGNER, "sign", data={"document": "phieu-lltp-so-1.pdf"})
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["status"] == "processed" and view["status_code"] == 9
    assert view["current_step"]["step_id"] == "tra_ket_qua"
    assert holder(view) == ("return", "return_officer", CENTRE)
    # The decision is made: no withdrawal any more.
    assert not any(a[0] == "withdraw" for a in allowed(view))

    # -- return of the result at the centre
    await wrong(SIGNER, "return", 403, "forbidden")
    await wrong(RETURNER, "accept", 409, "wrong_step")
    await wrong(RETURNER, "withdraw", 409, "wrong_step", comment="Không cần nữa")
    r = await act(
        api,
        http,
        code,
        RETURNER,
        "return",
        data={"channel": "counter", "received_by": person.name},
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["status"] == "returned" and view["status_code"] == 10
    assert view["outcome"] == "granted" and view["closed_at"] is not None
    assert view["allowed_actions"] == [] and view["current_step"] is None

    r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*RETURNER))
    assert r.status_code == 200 and r.json()["status"] == "returned"
    assert [s["ended_at"] is not None for s in r.json()["steps"]] == [True] * 6

    # -- closed: every further action is refused as such
    await wait_closed(api, code)
    message = await wrong(RETURNER, "return", 409, "closed")
    assert f"Hồ sơ {code} đã kết thúc" in message and "'return'" in message, message

    # -- the record: every event, and every refused attempt with its reason
    r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*INTAKE))
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["code"] == code
    seqs = [e["seq"] for e in record["events"]]
    assert seqs == list(range(1, len(seqs) + 1))
    kinds = [e["kind"] for e in record["events"]]
    for kind in ("submitted", "accept", "appraise", "approve", "sign", "return"):
        assert kind in kinds, kinds
    assert kinds.index("accept") < kinds.index("appraise") < kinds.index("approve")
    assert kinds.index("approve") < kinds.index("sign") < kinds.index("return")
    by_kind = {e["kind"]: e for e in record["events"]}
    assert (by_kind["accept"]["role"], by_kind["accept"]["agency"]) == ("intake_officer", CENTRE)
    assert (by_kind["appraise"]["role"], by_kind["appraise"]["agency"]) == ("specialist", POLICE)
    assert (by_kind["sign"]["role"], by_kind["sign"]["agency"]) == ("signer", POLICE)
    assert by_kind["return"]["status_after"] == "returned"
    assert by_kind["accept"]["actor_id"] == f"intake_officer@{CENTRE}"

    attempts = record["refused_attempts"]
    got = [(a["action"], a["role"], a["agency"], a["code"]) for a in attempts]
    assert got == expected_refusals
    for a in attempts:
        assert a["reason"] and a["actor_id"] and a["at"]


async def test_auditor_reads_everything_and_acts_on_nothing(
    api: Api, http: httpx.AsyncClient
) -> None:
    person = api.person()
    r = await http.post("/v1/dossiers", json=submission(person), headers=api.headers(*INTAKE))
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    auditor = api.headers(*AUDITOR)
    await caught_up(api, http, code)  # events are read from the read model

    r = await http.get(f"/v1/dossiers/{code}", headers=auditor)
    assert r.status_code == 200 and r.json()["code"] == code
    r = await http.get(f"/v1/dossiers/{code}/events", headers=auditor)
    assert r.status_code == 200 and r.json()["code"] == code

    for action in ("accept", "request_supplement", "refuse", "withdraw", "appraise", "sign"):
        r = await act(
            api,
            http,
            code,
            AUDITOR,
            action,
            comment="kiểm tra",
            data={"missing": ["x"], "opinion": "x"},
        )
        assert r.status_code in (403, 409), (action, r.text)
        error_of(r, r.status_code, "forbidden" if r.status_code == 403 else "wrong_step")
    # Even naming a role the token does not carry.
    r = await act(api, http, code, AUDITOR, "accept", role="intake_officer")
    error_of(r, 403, "forbidden")
    r = await http.post(f"/v1/dossiers/{code}/withdraw", json={"comment": "rút"}, headers=auditor)
    assert r.status_code in (403, 409), r.text
    r = await http.post(
        f"/v1/dossiers/{code}/supplements",
        json={"documents": [document("x", "x.pdf")]},
        headers=auditor,
    )
    assert r.status_code in (403, 409), r.text
    r = await http.post("/v1/dossiers", json=submission(api.person()), headers=auditor)
    error_of(r, 403, "forbidden")

    r = await http.get(f"/v1/dossiers/{code}", headers=auditor)
    assert r.json()["status"] == "submitted" and r.json()["event_seq"] == 2, r.json()
    r = await http.get(f"/v1/dossiers/{code}/events", headers=auditor)
    attempts = r.json()["refused_attempts"]
    assert attempts and all(a["role"] == "auditor" for a in attempts)
    assert {a["code"] for a in attempts} <= {"forbidden", "wrong_step"}


@pytest.mark.parametrize(
    ("who", "action"),
    [
        ((Role.RETURN_OFFICER, CENTRE), "accept"),
        ((Role.SIGNER, POLICE), "refuse"),
        ((Role.LEADER, POLICE), "request_supplement"),
    ],
    ids=["return_officer", "signer", "leader"],
)
async def test_intake_actions_belong_to_the_intake_officer(
    api: Api, http: httpx.AsyncClient, who: tuple[Role, str], action: str
) -> None:
    r = await http.post("/v1/dossiers", json=submission(api.person()), headers=api.headers(*INTAKE))
    code = r.json()["code"]
    await caught_up(api, http, code)
    r = await act(api, http, code, who, action, comment="lý do", data={"missing": ["x"]})
    message = error_of(r, 403, "forbidden")
    assert "intake_officer" in message
    r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*AUDITOR))
    [attempt] = r.json()["refused_attempts"]
    assert (attempt["action"], attempt["role"], attempt["code"]) == (
        action,
        who[0].value,
        "forbidden",
    )
