"""Personal-data requests end to end (real API, workers and Temporal, on both databases):
a citizen signed in with their own account asks to see their data and downloads the
export (JSON and a Vietnamese text) within the statutory time, with who read their
dossier; asks for a correction that a leader of the centre applies where the law allows
and annotates where it does not; nobody else sees or decides what is not theirs.
The deadline and its escalation are tested on the time-skipping server
(tests/workflow/test_data_request.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
from sqlmodel import Session, select

from domain.catalog import Role
from store import repository
from store.models import OutboxRow
from tests.api.support import AUDITOR, INTAKE, LEADER, Api, act, caught_up, error_of, submit


async def answered(api: Api, http: httpx.AsyncClient, rid: str, who: dict[str, str]) -> Any:
    for _ in range(300):
        r = await http.get(f"/v1/data-requests/{rid}", headers=who)
        assert r.status_code == 200, r.text
        if r.json()["status"] != "received":
            return r.json()
        await asyncio.sleep(0.1)
    raise AssertionError(f"{rid} was never answered")


async def test_a_citizen_sees_and_corrects_their_own_personal_data(api: Api) -> None:
    person, stranger = api.person("pdpl"), api.person("pdpl-other")
    mine, theirs = api.applicant(person), api.applicant(stranger)
    centre = api.settings.centre_agency
    centre_leader = api.headers(Role.LEADER, centre, sub="leader-centre")
    async with api.http() as http:
        code = await submit(api, http, person, as_applicant=True, channel="online")
        # Accepted: the applicant is notified (portal, SMS, e-mail) of the receipt.
        assert (await act(api, http, code, INTAKE, "accept")).status_code == 200
        await caught_up(api, http, code)
        # An auditor reads the dossier: the read is logged, and the export shows it.
        r = await http.get(f"/v1/audit/dossiers/{code}/timeline", headers=api.headers(*AUDITOR))
        assert r.status_code == 200, r.text

        # Only an applicant, for their own account; the body names no one else.
        error_of(
            await http.post(
                "/v1/data-requests", json={"kind": "access"}, headers=api.headers(*INTAKE)
            ),
            403,
            "forbidden",
        )
        r = await http.post(
            "/v1/data-requests", json={"kind": "access", "account": stranger.sub}, headers=mine
        )
        error_of(r, 422)

        r = await http.post("/v1/data-requests", json={"kind": "access"}, headers=mine)
        assert r.status_code == 202, r.text
        rid = r.json()["id"]
        assert r.json()["due_at"] is not None
        done = await answered(api, http, rid, mine)
        assert done["status"] == "answered" and done["has_export"] and not done["escalated"]
        at, due = (datetime.fromisoformat(done[k]) for k in ("answered_at", "due_at"))
        assert at <= due  # within its time

        r = await http.get(f"/v1/data-requests/{rid}/export", headers=mine)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        export = r.json()
        assert export["request"]["account"] == person.sub
        [dossier] = export["dossiers"]
        assert dossier["code"] == code
        assert dossier["applicant"] == {"name": person.name, "id_number": person.id_number}
        assert dossier["events"][0]["kind"] == "submitted"
        assert {d["source"] for d in dossier["documents"]} >= {"upload"}
        assert any(
            x["actor_id"] == f"{Role.AUDITOR.value}@-" and x["action"] == "timeline"
            for x in dossier["reads"]
        ), dossier["reads"]
        assert "cán bộ xem hồ sơ" in export["reads_note"]
        r = await http.get(
            f"/v1/data-requests/{rid}/export", params={"format": "text"}, headers=mine
        )
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        assert r.text.startswith("TRÍCH XUẤT DỮ LIỆU CÁ NHÂN")
        assert code in r.text and person.name in r.text and "Người đã đọc hồ sơ" in r.text
        # In words a citizen reads: the status and each event by name, not their codes.
        assert "trạng thái: Được tiếp nhận" in r.text or "trạng thái: Đang xử lý" in r.text
        assert "Nộp hồ sơ –" in r.text and ": submitted –" not in r.text

        # A stranger: not found, whatever they try; their list is their own.
        for path in (f"/v1/data-requests/{rid}", f"/v1/data-requests/{rid}/export"):
            error_of(await http.get(path, headers=theirs), 404, "not_found")
        r = await http.get("/v1/data-requests", headers=theirs)
        assert r.status_code == 200 and r.json() == []
        # The applicant's export is theirs alone, not the centre's leader's.
        error_of(await http.get(f"/v1/data-requests/{rid}/export", headers=centre_leader), 404)

        # A correction: a name (kept on the record, annotated) and a phone number.
        error_of(
            await http.post("/v1/data-requests", json={"kind": "correct"}, headers=mine),
            422,
            "invalid",
        )
        body = {
            "kind": "correct",
            "corrections": {"name": person.name + " An", "phone": "0987654321"},
            "reason": "Tên thiếu chữ đệm",
        }
        r = await http.post("/v1/data-requests", json=body, headers=mine)
        assert r.status_code == 202, r.text
        fix = r.json()["id"]
        # Open for the centre's leaders, with its due time; not for another agency's.
        r = await http.get("/v1/data-requests", params={"open": "true"}, headers=centre_leader)
        asked = {x["id"]: x for x in r.json()}[fix]
        # What is asked, and by whom, for the leader who decides it.
        assert (asked["account"], asked["reason"]) == (person.sub, "Tên thiếu chữ đệm")
        assert asked["corrections"] == body["corrections"]
        decision = {"apply": True, "reason": "Đã đối chiếu căn cước"}
        error_of(
            await http.post(
                f"/v1/data-requests/{fix}/decision", json=decision, headers=api.headers(*LEADER)
            ),
            404,
        )
        error_of(
            await http.post(f"/v1/data-requests/{fix}/decision", json=decision, headers=mine),
            403,
            "forbidden",
        )
        error_of(
            await http.post(
                f"/v1/data-requests/{rid}/decision", json=decision, headers=centre_leader
            ),
            409,
            "wrong_step",
        )
        r = await http.post(
            f"/v1/data-requests/{fix}/decision", json=decision, headers=centre_leader
        )
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["status"] == "answered" and "số điện thoại" in out["answer"]
        assert "ghi chú" in out["answer"]
        error_of(
            await http.post(
                f"/v1/data-requests/{fix}/decision", json=decision, headers=centre_leader
            ),
            409,
            "wrong_step",
        )
        # The phone: the applicant's SMS not yet sent go to the corrected number; those
        # sent stay as they were (what was done is not rewritten).
        with Session(api.engine) as db:
            sms = db.exec(
                select(OutboxRow).where(
                    OutboxRow.dossier_code == code,
                    OutboxRow.channel == "sms",
                    OutboxRow.recipient_role == "applicant",
                )
            ).all()
        assert sms
        for row in sms:
            fixed = row.sent_at is None and row.failed_at is None
            assert row.recipient == ("sms:0987654321" if fixed else "sms:0912345678")
        held = repository.held_about(api.engine, person.sub)
        [note] = held["notes"]
        assert note.dossier_code == code and note.kind == "correction"
        assert note.data["changes"]["name"] == {"held": person.name, "asked": person.name + " An"}
        assert held["dossiers"][0].applicant_name == person.name  # never rewritten
        r = await http.get("/v1/data-requests", headers=mine)
        assert {x["id"] for x in r.json()} == {rid, fix}
