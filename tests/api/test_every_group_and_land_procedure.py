"""Every linked group and land procedure of the shipped catalog, end to end through
the API, with each agency's own worker: an officer of the right role and agency
takes whatever step the dossier (or a sub-dossier) offers, the payment gateway's
signed callback settles financial obligations, and each dossier ends returned
and granted. A generic walker, so a catalog change that leaves a procedure
unfinishable fails here."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from api.routes.payments import sign
from tests.api.support import Api, fee_due, submission

# Linked groups and land procedures (the land ones carry remote-area times and payments).
PROCEDURES = ["2.000986", "9.000004", "1.013831", "9.000003", "2.000983"]
PROGRESS = ("accept", "appraise", "schedule_inspection", "approve", "sign", "pay", "return")


def _data(action: str, view: dict[str, Any]) -> dict[str, Any]:
    if action == "appraise":
        return {"opinion": "Đủ điều kiện", "recommendation": "grant"}
    if action == "return":
        return {"channel": "counter"}
    return {}


async def _get(api: Api, http: httpx.AsyncClient, code: str) -> dict[str, Any]:
    r = await http.get(f"/v1/dossiers/{quote(code, safe='')}", headers=api.headers("auditor"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _pay(api: Api, http: httpx.AsyncClient, code: str, amount: int) -> None:
    body = json.dumps(
        {
            "dossier_code": code,
            "transaction_id": f"GD-{code}",
            "receipt_number": f"BL-{code}",
            "amount_vnd": amount,
            "paid_at": datetime.now(UTC).isoformat(),
        }
    ).encode()
    r = await http.post(
        "/v1/payments/callback",
        content=body,
        headers={
            "X-Signature": sign(api.settings.payment_gateway_secret.get_secret_value(), body),
            "Content-Type": "application/json",
        },
    )
    assert r.status_code == 200, r.text


async def walk(api: Api, http: httpx.AsyncClient, code: str, walked: set[str]) -> dict[str, Any]:
    """Take every step offered until the dossier closes; walk its children on the way."""
    for _ in range(400):
        view = await _get(api, http, code)
        if view["closed_at"]:
            return view
        for child in view["children"]:
            if (
                child["acknowledged_at"]
                and not child["finished_at"]
                and child["code"] not in walked
            ):
                walked.add(child["code"])
                closed = await walk(api, http, child["code"], walked)
                assert closed["outcome"] == "granted", closed
                break
        else:
            offered = [
                a
                for a in view["allowed_actions"]
                if a["action"] in PROGRESS and a["step_id"] and a["action"] != "schedule_inspection"
            ]
            if not offered:
                await asyncio.sleep(0.05)  # a handoff, a child starting, the gateway
                continue
            # A fee is paid before the step's own action (the return waits for it).
            a = next((o for o in offered if o["action"] == "pay"), offered[0])
            kind = view["current_step"]["kind"]
            data = _data(a["action"], view)
            if a["action"] == "pay":
                stage = {"payment": "payment", "return": "return"}.get(kind, "intake")
                amount = fee_due(view["procedure_code"], stage)
                if kind == "payment":
                    await _pay(api, http, code, amount)
                    continue
                data = {"amount_vnd": amount, "method": "cash"}
            r = await http.post(
                f"/v1/dossiers/{quote(code, safe='')}/actions",
                json={"action": a["action"], "data": data},
                headers=api.headers(a["role"], a["agency"]),
            )
            assert r.status_code == 200, (a, r.text)
    raise AssertionError(f"{code} never closed")


@pytest.mark.parametrize("procedure", PROCEDURES)
async def test_the_procedure_runs_end_to_end(api: Api, procedure: str) -> None:
    p = api.catalog.procedure(procedure)
    centre = p.steps[0].agency if p.steps[0].agency not in ("centre", "competent") else None
    body = submission(api.person(procedure), procedure=procedure)
    if centre is None and p.level == "commune":
        body["centre_agency"] = next(
            a.code
            for a in api.catalog.agencies.values()
            if a.kind.value == "centre" and a.level == "commune"
        )
    if p.remote_area_extra is not None:
        body["remote_area"] = True
    async with api.http() as http:
        r = await http.post(
            "/v1/dossiers",
            json=body,
            headers=api.headers(
                "intake_officer", body.get("centre_agency", api.settings.centre_agency)
            ),
        )
        assert r.status_code == 201, r.text
        code = r.json()["code"]
        walked: set[str] = set()
        view = await walk(api, http, code, walked)
        for _ in range(100):
            events = (
                await http.get(f"/v1/dossiers/{code}/events", headers=api.headers("auditor"))
            ).json()["events"]
            accepted = [e for e in events if e["kind"] == "accept"]
            if accepted:
                break
            await asyncio.sleep(0.05)
    assert (view["status"], view["outcome"]) == ("returned", "granted"), view
    linked = [c for s in p.steps for c in s.children]
    assert len(walked) == len(linked)
    assert {c["agency"] for c in view["children"]} == {
        c.agency or api.catalog.procedure(c.procedure).competent_agency for c in linked
    }
    # Remote communes get the procedure's extra time (land: +10 working days).
    assert accepted[0]["data"]["remote_area"] is (p.remote_area_extra is not None)
    if p.remote_area_extra is not None:
        assert accepted[0]["data"]["statutory_time"] == str(
            type(p.statutory_time)(
                value=p.statutory_time.value + p.remote_area_extra.value, unit=p.statutory_time.unit
            )
        )
