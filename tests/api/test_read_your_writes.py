"""Read-your-writes: once a submission or an action has answered, every read shows its effect at once:
the dossier's events, public tracking, the dossier lists and the officers' worklists
(all read the read model, which the workflow's projection activity writes). Each read
below is made once, right after the answer, with no waiting and no retry: the workflow
answers an action only after the read model holds its events.

Each kind of action a judicial record certificate dossier (3.000333) knows is taken over
HTTP: accept, request_supplement, supplement, appraise, request_extension, approve, sign,
return, refuse and withdraw."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from domain.catalog import Role
from tests.api import support as sup
from tests.api.support import Api, Person

ROUNDS = 2  # the whole walk, twice: the reads never race the projection


async def _seen(
    api: Api,
    http: httpx.AsyncClient,
    person: Person,
    answer: dict[str, Any],
    action: str,
    *,
    on_worklist: tuple[Role, str] | None = None,
    off_worklist: tuple[Role, str] | None = None,
) -> None:
    """The answer's effect, read once from each read of the read model."""
    code, seq = answer["code"], answer["event_seq"]
    # The events: the action's own event, and everything up to the answer.
    r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*sup.AUDITOR))
    assert r.status_code == 200, r.text
    events = r.json()["events"]
    assert events and events[-1]["seq"] >= seq, (action, [e["kind"] for e in events], seq)
    assert action in [e["kind"] for e in events if e["seq"] <= seq], (action, events)
    # Public tracking: the status and appointment the answer gave.
    r = await http.get(f"/v1/track/{code}", params={"id_number": person.id_number})
    assert r.status_code == 200, r.text
    tracking = r.json()
    # The list (the auditor's search by the applicant's name).
    r = await http.get("/v1/dossiers", params={"q": person.name}, headers=api.headers(*sup.AUDITOR))
    assert r.status_code == 200, r.text
    [item] = [i for i in r.json()["items"] if i["code"] == code]
    # Whether the engine took steps of its own (an automatic handoff) since the answer, up
    # to now: asked after the reads above, so a handoff landing between them is seen too.
    r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*sup.AUDITOR))
    moved_on = r.json()["events"][-1]["seq"] > seq
    if not moved_on:
        assert tracking["status"] == answer["status"], (action, tracking, answer["status"])
        step = answer["current_step"]
        assert tracking["step"] == (step["name"] if step else None), (action, tracking)
    assert tracking["appointment_at"] == answer["appointment_at"] or (
        tracking["appointment_at"] is not None
        and answer["appointment_at"] is not None
        and _same_instant(tracking["appointment_at"], answer["appointment_at"])
    ), (action, tracking, answer["appointment_at"])
    if not moved_on:
        assert item["status"] == answer["status"], (action, item)
    # The worklists: the new holder has it, the one who acted does not.
    for who, expected in ((on_worklist, True), (off_worklist, False)):
        if who is None:
            continue
        r = await http.get("/v1/worklist", params={"limit": 200}, headers=api.headers(*who))
        assert r.status_code == 200, r.text
        body = r.json()
        codes = [i["code"] for i in body["items"]]
        if expected and body["total"] > len(codes):
            continue  # a busy shared database: the list is cut before it
        assert (code in codes) is expected, (action, who, expected)


def _same_instant(a: str, b: str) -> bool:
    return datetime.fromisoformat(a) == datetime.fromisoformat(b)


async def _done(
    api: Api, http: httpx.AsyncClient, code: str, who: tuple[Role, str], action: str, **body: Any
) -> dict[str, Any]:
    r = await sup.act(api, http, code, who, action, **body)
    assert r.status_code == 200, (action, r.text)
    answer: dict[str, Any] = r.json()
    return answer


# The officers' actions after the supplement: who, which, its body, whose worklist has the
# dossier after it and whose has not, and the status it answers (None: not checked).
Step = tuple[tuple[Role, str], str, dict[str, Any], Any, Any, str | None]
AFTER_SUPPLEMENT: list[Step] = [
    (
        sup.SPECIALIST,
        "appraise",
        {"data": {"opinion": "Không có án tích", "recommendation": "grant"}},
        sup.LEADER,
        sup.SPECIALIST,
        "in_progress",
    ),
    (
        sup.LEADER,
        "request_extension",
        {"comment": "Cần xác minh thêm", "data": {"extra_days": 2}},
        sup.LEADER,
        None,
        None,
    ),
    (sup.LEADER, "approve", {"comment": "Đồng ý"}, sup.SIGNER, sup.LEADER, None),
    (
        sup.SIGNER,
        "sign",
        {"data": {"document": "phieu.pdf"}},
        sup.RETURNER,
        sup.SIGNER,
        "processed",
    ),
    (sup.RETURNER, "return", {"data": {"channel": "counter"}}, None, sup.RETURNER, "returned"),
]


async def _by_applicant(
    api: Api, http: httpx.AsyncClient, person: Person, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    r = await http.post(path, json=body, headers=api.applicant(person))
    assert r.status_code == 200, (path, r.text)
    answer: dict[str, Any] = r.json()
    return answer


async def _submitted_and_seen(api: Api, http: httpx.AsyncClient, person: Person) -> str:
    """A submission answers once the read model holds the dossier: the intake officers'
    worklist, the list and tracking, each read once right after the 201, show it."""
    r = await http.post(
        "/v1/dossiers",
        json=sup.submission(person, channel="online"),
        headers=api.applicant(person),
    )
    assert r.status_code == 201, r.text
    created = r.json()
    code: str = created["code"]
    r = await http.get("/v1/worklist", params={"limit": 200}, headers=api.headers(*sup.INTAKE))
    assert r.status_code == 200, r.text
    body = r.json()
    codes = [i["code"] for i in body["items"]]
    assert code in codes or body["total"] > len(codes), "not on the intake worklist"
    r = await http.get("/v1/dossiers", params={"q": person.name}, headers=api.headers(*sup.AUDITOR))
    assert r.status_code == 200, r.text
    [item] = [i for i in r.json()["items"] if i["code"] == code]
    assert item["status"] == created["status"], (item, created)
    r = await http.get(f"/v1/track/{code}", params={"id_number": person.id_number})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == created["status"]
    return code


async def _walk(api: Api, http: httpx.AsyncClient) -> None:
    person = api.person("rYw")
    code = await _submitted_and_seen(api, http, person)
    await sup.wait_for_step(api, http, code, "tiep_nhan")

    await sup.pay_fee(api, http, code)
    answer = await _done(api, http, code, sup.INTAKE, "accept", comment="Hồ sơ đầy đủ")
    # (The centre's intake officers keep it on their list while it is handed over.)
    await _seen(api, http, person, answer, "accept")

    await sup.wait_for_step(api, http, code, "tra_cuu_xac_minh")  # the automatic handoff
    answer = await _done(
        api, http, code, sup.SPECIALIST, "request_supplement", data={"missing": ["Bản sao CCCD"]}
    )
    assert answer["status"] == "supplement_requested"
    await _seen(api, http, person, answer, "request_supplement", off_worklist=sup.SPECIALIST)

    supplements = {"documents": [sup.document("bo_sung", "bo-sung.pdf")]}
    answer = await _by_applicant(api, http, person, f"/v1/dossiers/{code}/supplements", supplements)
    await _seen(api, http, person, answer, "supplement", on_worklist=sup.SPECIALIST)

    for who, action, body, on, off, status in AFTER_SUPPLEMENT:
        if action == "return":
            body = {"data": {**body["data"], "received_by": person.name}}
        before = answer["appointment_at"]
        answer = await _done(api, http, code, who, action, **body)
        assert status is None or answer["status"] == status, (action, answer["status"])
        if action == "request_extension":
            assert answer["appointment_at"] != before
        await _seen(api, http, person, answer, action, on_worklist=on, off_worklist=off)

    # Refused at intake, and withdrawn by the applicant.
    other = api.person("rYw")
    code = await sup.submit(api, http, other)
    answer = await _done(api, http, code, sup.INTAKE, "refuse", comment="Không thuộc thẩm quyền")
    assert answer["status"] == "not_received"
    await _seen(api, http, other, answer, "refuse", off_worklist=sup.INTAKE)

    third = api.person("rYw")
    code = await sup.submit(api, http, third, as_applicant=True, channel="online")
    await sup.wait_for_step(api, http, code, "tiep_nhan")
    answer = await _by_applicant(
        api, http, third, f"/v1/dossiers/{code}/withdraw", {"comment": "Không cần nữa"}
    )
    await _seen(api, http, third, answer, "withdraw", off_worklist=sup.INTAKE)


async def test_every_action_is_seen_by_every_read_at_once(
    api: Api, http: httpx.AsyncClient
) -> None:
    for _ in range(ROUNDS):
        await _walk(api, http)
