"""The citizen's voice (PAKN) over HTTP, on the real dev server with the centre's worker,
on SQLite and PostgreSQL.

A letter of complaint received a month ago is entered by the centre's intake officer: its
15 working days have run out, so its workflow escalates it to the centre's leader at
once; a stranger can neither read nor answer it, an officer of another agency cannot
answer it; the centre's specialist answers it late; the answer is published with the
filer's name masked and no contacts, and the filer is told on each of their channels.
A citizen without signing in files a complaint about their dossier with its code and
their ID number (as tracking asks), and it is routed to the agency handling the
dossier; a wrong ID number gets the answer tracking gives. The leaders' list shows open
items with countdowns, and the dossier's complaint counts in the month's index."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from domain.catalog import Role
from store import repository
from store.models import OutboxRow
from tests.api.support import (
    CENTRE,
    LEADER,
    POLICE,
    Api,
    act,
    caught_up,
    error_of,
    submit,
    wait_for_step,
)

CENTRE_LEADER = (Role.LEADER, CENTRE)
CENTRE_SPECIALIST = (Role.SPECIALIST, CENTRE)
INTAKE = (Role.INTAKE_OFFICER, CENTRE)


async def _until(
    http: httpx.AsyncClient, path: str, headers: dict[str, str], ok: Any, seconds: float = 60
) -> dict[str, Any]:
    """GET `path` until `ok(body)`: the workflow writes the read model asynchronously."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        r = await http.get(path, headers=headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if ok(body):
            return body
        assert asyncio.get_running_loop().time() < deadline, body
        await asyncio.sleep(0.2)


def _outbox(api: Api, event_id: str) -> list[OutboxRow]:
    with api.engine.connect() as conn:
        rows = conn.execute(select(OutboxRow).where(OutboxRow.event_id == event_id)).all()
    return [OutboxRow.model_validate(dict(r._mapping)) for r in rows]


async def test_a_late_letter_is_escalated_answered_published_masked_and_its_filer_told(
    api: Api,
) -> None:
    person = api.person("pakn")
    month_ago = datetime.now(UTC) - timedelta(days=35)
    async with api.http() as http:
        r = await http.post(
            "/v1/feedback",
            json={
                "kind": "complaint",
                "text": "Cán bộ tại quầy số 3 hướng dẫn không rõ ràng",
                "name": person.name,
                "id_number": person.id_number,
                "phone": "0912345678",
                "email": "filer@example.vn",
                "channel": "post",
                "received_at": month_ago.isoformat(),
            },
            headers=api.headers(*INTAKE),
        )
        assert r.status_code == 201, r.text
        item = r.json()
        code = item["code"]
        # About the service: the centre answers it; its deadline is long past.
        assert item["agency"] == CENTRE and item["dossier_code"] is None
        assert item["status"] == "open"
        assert datetime.fromisoformat(item["due_at"]) < datetime.now(UTC)

        # Its workflow escalates it to the centre's leader: an event and a message.
        leader = api.headers(*CENTRE_LEADER)
        late = await _until(
            http, f"/v1/feedback/{code}", leader, lambda b: b["escalated_at"] is not None
        )
        assert [e["kind"] for e in late["events"]] == ["filed", "escalated"]
        assert late["time_left"]["overdue"] is True
        assert late["time_left"]["label"].startswith("Quá hạn")
        told_leader = _outbox(api, f"{code}:escalated")
        assert [m.recipient for m in told_leader] == [f"leader@{CENTRE}"]

        # The leader's list: open items of the centre, this one with its countdown.
        r = await http.get("/v1/feedback", headers=leader)
        assert r.status_code == 200, r.text
        listed = {i["code"]: i for i in r.json()}
        assert listed[code]["time_left"]["overdue"] is True
        # The police's leader does not see the centre's items.
        r = await http.get("/v1/feedback", headers=api.headers(*LEADER))
        assert code not in {i["code"] for i in r.json()}

        # A stranger can neither read nor answer it; another agency's officer cannot answer.
        stranger = api.applicant(api.person())
        error_of(await http.get(f"/v1/feedback/{code}", headers=stranger), 404, "not_found")
        error_of(
            await http.get(f"/v1/feedback/{code}", params={"id_number": "999999999999"}),
            404,
            "not_found",
        )
        answer = {"text": "Trung tâm đã nhắc nhở cán bộ và xin lỗi ông/bà."}
        error_of(
            await http.post(f"/v1/feedback/{code}/answer", json=answer, headers=stranger),
            404,
            "not_found",
        )
        error_of(
            await http.post(
                f"/v1/feedback/{code}/answer",
                json=answer,
                headers=api.headers(Role.SPECIALIST, POLICE),
            ),
            404,
            "not_found",
        )
        error_of(
            await http.post(
                f"/v1/feedback/{code}/answer", json=answer, headers=api.headers(*INTAKE)
            ),
            403,
            "forbidden",
        )
        # The filer reads it with their ID number, no sign-in.
        r = await http.get(f"/v1/feedback/{code}", params={"id_number": person.id_number})
        assert r.status_code == 200, r.text

        # The centre's specialist answers, late.
        r = await http.post(
            f"/v1/feedback/{code}/answer", json=answer, headers=api.headers(*CENTRE_SPECIALIST)
        )
        assert r.status_code == 200, r.text
        done = r.json()
        assert done["status"] == "answered" and done["late"] is True
        assert [e["kind"] for e in done["events"]] == ["filed", "escalated", "answered"]
        error_of(
            await http.post(
                f"/v1/feedback/{code}/answer", json=answer, headers=api.headers(*CENTRE_LEADER)
            ),
            409,
            "wrong_step",
        )

        # Published: the answer, the filer's name masked, no ID number or contacts.
        r = await http.get("/v1/public/feedback")
        assert r.status_code == 200, r.text
        public = {i["code"]: i for i in r.json()}[code]
        assert public["answer"] == answer["text"]
        assert public["filer_name"] != person.name and person.name not in r.text
        assert person.id_number not in r.text and "0912345678" not in r.text
        assert "filer@example.vn" not in r.text

        # The filer is told the answer on each channel they gave.
        told = _outbox(api, f"{code}:answered")
        assert sorted(m.recipient for m in told) == [
            "email:filer@example.vn",
            f"portal:{person.id_number}",
            "sms:0912345678",
        ]
        assert all(answer["text"] in m.body for m in told)


async def test_a_complaint_about_a_dossier_without_signing_in_goes_to_its_agency(
    api: Api,
) -> None:
    person = api.person("pakn-dossier")
    async with api.http() as http:
        dossier = await submit(api, http, person)
        assert (await act(api, http, dossier, INTAKE, "accept")).status_code == 200
        await wait_for_step(api, http, dossier, "tra_cuu_xac_minh")
        await caught_up(api, http, dossier)
        row = await asyncio.to_thread(repository.get_dossier, api.engine, dossier)
        assert row is not None and row.current_agency == POLICE
        body = {"kind": "complaint", "text": "Quá hẹn mà chưa có kết quả", "dossier_code": dossier}
        # Without the applicant's ID number, or with another: tracking's one answer.
        error_of(await http.post("/v1/feedback", json=body), 404, "not_found")
        error_of(
            await http.post("/v1/feedback", json={**body, "id_number": "000000000001"}),
            404,
            "not_found",
        )
        # A date of receipt is the centre's intake officer's to enter, not a citizen's.
        error_of(
            await http.post(
                "/v1/feedback",
                json={
                    **body,
                    "id_number": person.id_number,
                    "received_at": datetime.now(UTC).isoformat(),
                },
            ),
            403,
            "forbidden",
        )
        r = await http.post(
            "/v1/feedback", json={**body, "id_number": person.id_number, "channel": "counter"}
        )
        assert r.status_code == 201, r.text
        item = r.json()
        # Routed to the agency handling the dossier now: the police, at appraisal.
        expected = POLICE
        assert item["agency"] == expected and item["dossier_code"] == dossier
        assert item["filer_name"] == person.name
        assert item["time_left"]["overdue"] is False
        # 15 working days from the next working day: three weeks at least.
        filed, due = (
            datetime.fromisoformat(item["filed_at"]),
            datetime.fromisoformat(item["due_at"]),
        )
        assert due - filed >= timedelta(days=21)

        # The dossier's complaint counts against the month's satisfaction figure.
        month = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m")
        r = await http.get(
            "/v1/index",
            params={"period": month, "agency": row.competent_agency},
            headers=api.headers(Role.AUDITOR),
        )
        assert r.status_code == 200, r.text
        figures = r.json()
        assert figures["total"]["counts"]["complained_or_disliked"] >= 1
        pakn = {f["agency"]: f for f in figures["feedback"]}
        assert pakn[expected]["received"] >= 1
