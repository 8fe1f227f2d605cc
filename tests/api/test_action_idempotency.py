"""A retried action never completes the next step.

Procedure 1.001029 has two appraisal steps in a row, both the specialist's at the
Department of Culture: an officer's retry of an `appraise` (after a timeout, say) used to
complete the second one silently. Now an action may carry an `Idempotency-Key` (the same
key and body get the same answer, the action is taken once; another body under the key is
a 422) and an `expected_step` (checked by the workflow's update validator, atomically with
the action: 409 naming where the dossier is). On the real stack: uvicorn, the Temporal dev
server, every agency's worker."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import update

from domain.catalog import Role
from store import repository
from store.models import ActionRequestRow
from tests.api.support import CENTRE, Api, caught_up, document, error_of
from tests.files import pdf

KARAOKE_LICENCE = "1.001029"
CULTURE = "000.00.15.H99"  # Sở Văn hóa, Thể thao và Du lịch: every step of 1.001029
SPECIALIST = (Role.SPECIALIST, CULTURE)
FIRST, SECOND = "thanh_lap_doan", "tham_dinh_thuc_te"


async def _at_first_appraisal(api: Api, http: httpx.AsyncClient) -> str:
    person = api.person("karaoke")
    body = {
        "procedure_code": KARAOKE_LICENCE,
        "applicant": {"name": person.name, "id_number": person.id_number, "phone": "0912345678"},
        "channel": "counter",
        "documents": [
            document(k, f"{k}.pdf", pdf(f"{k} {person.id_number}"))
            for k in ("de_nghi_cap_giay_phep", "giay_chung_nhan_antt", "van_ban_nghiem_thu_pccc")
        ],
    }
    r = await http.post("/v1/dossiers", json=body, headers=api.headers(Role.INTAKE_OFFICER, CENTRE))
    assert r.status_code == 201, r.text
    code: str = r.json()["code"]
    r = await http.post(
        f"/v1/dossiers/{code}/actions",
        json={"action": "accept"},
        headers=api.headers(Role.INTAKE_OFFICER, CULTURE),
    )
    assert r.status_code == 200, r.text
    assert r.json()["current_step"]["step_id"] == FIRST, r.json()["current_step"]
    return code


def _forget_answers(api: Api, code: str) -> None:
    t = ActionRequestRow.__table__
    with api.engine.begin() as conn:
        forgotten = conn.execute(
            update(t)
            .where(t.c.dossier_code == code)
            .values(status_code=None, response=None, answered_at=None)
        ).rowcount
    assert forgotten == 1


def _appraise(opinion: str, **extra: Any) -> dict[str, Any]:
    return {"action": "appraise", "data": {"opinion": opinion}, **extra}


async def test_a_retried_appraisal_does_not_complete_the_next_step(
    api: Api, http: httpx.AsyncClient
) -> None:
    code = await _at_first_appraisal(api, http)
    url = f"/v1/dossiers/{code}/actions"
    headers = {**api.headers(*SPECIALIST), "Idempotency-Key": "appraise-once-1"}
    body = _appraise("Đủ điều kiện thành lập đoàn", expected_step=FIRST)

    first = await http.post(url, json=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["current_step"]["step_id"] == SECOND

    # The officer's client timed out and sends the same request again: the same answer,
    # and the second appraisal is still open.
    again = await http.post(url, json=body, headers=headers)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*SPECIALIST))
    view = r.json()
    assert view["current_step"]["step_id"] == SECOND
    [second] = [s for s in view["steps"] if s["step_id"] == SECOND]
    assert second["ended_at"] is None and second["verdict"] is None, second

    # Concurrent retries too: all get the first answer, none is taken.
    answers = await asyncio.gather(*(http.post(url, json=body, headers=headers) for _ in range(4)))
    assert {(a.status_code, a.json()["event_seq"]) for a in answers} == {
        (200, first.json()["event_seq"])
    }

    # The API died after the workflow took the action, before it kept the answer: the
    # retries (at once) go to the workflow again, as the same update, and get its outcome.
    await asyncio.to_thread(_forget_answers, api, code)
    answers = await asyncio.gather(*(http.post(url, json=body, headers=headers) for _ in range(3)))
    for a in answers:
        assert a.status_code == 200, a.text
        assert a.json()["current_step"]["step_id"] == SECOND
        assert a.json()["event_seq"] == first.json()["event_seq"]

    # Without a key but with the step it saw: 409 naming where the dossier is.
    r = await http.post(url, json=body, headers=api.headers(*SPECIALIST))
    message = error_of(r, 409, "wrong_step")
    assert FIRST in message and SECOND in message, message

    # The same key with another body: 422, nothing done.
    r = await http.post(url, json=_appraise("Ý kiến khác", expected_step=FIRST), headers=headers)
    assert "Idempotency-Key" in error_of(r, 422, "invalid")

    await caught_up(api, http, code)
    r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*SPECIALIST))
    record = r.json()
    assert [e["kind"] for e in record["events"]].count("appraise") == 1
    # The 409 is a refusal the engine made: recorded; the 422 never reached it.
    assert [(a["action"], a["code"]) for a in record["refused_attempts"]] == [
        ("appraise", "wrong_step")
    ]

    # The second appraisal is taken with its own key and step.
    r = await http.post(
        url,
        json=_appraise("Cơ sở đạt yêu cầu", expected_step=SECOND),
        headers={**api.headers(*SPECIALIST), "Idempotency-Key": "appraise-once-2"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["current_step"]["kind"] == "approval"


async def test_an_answer_is_kept_per_dossier_and_caller(api: Api, http: httpx.AsyncClient) -> None:
    """A refusal under a key is an answer too (nothing was done): a retry gets it again;
    the same key on another dossier, or by another caller, is another request."""
    one = await _at_first_appraisal(api, http)
    two = await _at_first_appraisal(api, http)
    key = {"Idempotency-Key": "k-shared"}
    stale = _appraise("Đủ điều kiện", expected_step=SECOND)  # not there yet
    r = await http.post(
        f"/v1/dossiers/{one}/actions", json=stale, headers={**api.headers(*SPECIALIST), **key}
    )
    refused = error_of(r, 409, "wrong_step")
    assert FIRST in refused
    r = await http.post(
        f"/v1/dossiers/{one}/actions", json=stale, headers={**api.headers(*SPECIALIST), **key}
    )
    assert error_of(r, 409, "wrong_step") == refused
    fine = _appraise("Đủ điều kiện", expected_step=FIRST)
    r = await http.post(
        f"/v1/dossiers/{two}/actions", json=fine, headers={**api.headers(*SPECIALIST), **key}
    )
    assert r.status_code == 200, r.text
    other = api.headers(Role.SPECIALIST, CULTURE, sub="chuyen-vien-2")
    r = await http.post(f"/v1/dossiers/{one}/actions", json=fine, headers={**other, **key})
    assert r.status_code == 200, r.text
    assert r.json()["current_step"]["step_id"] == SECOND
    rows = await asyncio.to_thread(repository.list_refused_attempts, api.engine, one)
    assert [(a.action, a.code) for a in rows] == [("appraise", "wrong_step")]  # once
