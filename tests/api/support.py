"""What the HTTP API tests share: the stack under test (`Api`), the people of a judicial
record certificate dossier (3.000333: intake at the provincial centre, appraisal,
approval and signature at the provincial police, return at the centre), request bodies,
and waiting helpers (the read model and the agency's handoff are asynchronous)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowExecutionStatus

from api.auth import issue_token
from domain.catalog import Catalog, Role
from motcua.settings import Settings
from store import repository
from tests.devserver.journeys import CENTRE, COMMUNE_CENTRE, POLICE, PROCEDURE

__all__ = ["CENTRE", "COMMUNE_CENTRE", "POLICE", "PROCEDURE"]

TAX = "000.00.21.H99"  # Thuế tỉnh: never holds a judicial record dossier
COMMUNE = "000.31.00.H99"  # Ủy ban nhân dân xã Hòa An: decides 2.000635
CIVIL_STATUS = "2.000635"  # Cấp bản sao trích lục hộ tịch (commune, no handoff)

# (role, agency) of who does what on 3.000333.
INTAKE = (Role.INTAKE_OFFICER, CENTRE)
SPECIALIST = (Role.SPECIALIST, POLICE)
LEADER = (Role.LEADER, POLICE)
SIGNER = (Role.SIGNER, POLICE)
RETURNER = (Role.RETURN_OFFICER, CENTRE)
AUDITOR = (Role.AUDITOR, None)


@dataclass(frozen=True)
class Person:
    """An applicant of one test: a unique account, ID number and name (searchable by `q`)."""

    sub: str
    id_number: str
    name: str


@dataclass
class Api:
    """The API under test (a real uvicorn) and what it runs on."""

    db: str
    url: str
    settings: Settings
    engine: Engine
    client: Client
    catalog: Catalog
    _n: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def token(self, role: Role | str, agency: str | None = None, sub: str | None = None) -> str:
        role = Role(role)
        return issue_token(
            self.settings,
            sub=sub or f"{role.value}@{agency or '-'}",
            roles=[role],
            agency=agency,
            name=f"Test {role.value}",
        )

    def headers(
        self, role: Role | str, agency: str | None = None, sub: str | None = None
    ) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, agency, sub)}"}

    def applicant(self, person: Person) -> dict[str, str]:
        return self.headers(Role.APPLICANT, None, person.sub)

    def person(self, tag: str | None = None) -> Person:
        """A fresh applicant; `tag` (else a random one) is part of the name, for `q`."""
        n = next(self._n)
        rand = uuid.uuid4().hex[:8]
        return Person(
            sub=f"citizen-{rand}",
            id_number=f"{int(rand[:5], 16) % 10**6:06d}{n:06d}",
            name=f"Nguyễn Văn Thử {tag or rand} {n}",
        )

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30)


# --------------------------------------------------------------------------- bodies


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def document(kind: str, filename: str, content: bytes | None = None) -> dict[str, Any]:
    return {
        "kind": kind,
        "filename": filename,
        "content_base64": b64(content if content is not None else filename.encode()),
    }


def submission(
    person: Person, *, procedure: str = PROCEDURE, channel: str = "counter"
) -> dict[str, Any]:
    return {
        "procedure_code": procedure,
        "applicant": {
            "name": person.name,
            "id_number": person.id_number,
            "phone": "0912345678",
            "email": "thu@example.vn",
            "address": "Hạ Long, Quảng Ninh",
        },
        "channel": channel,
        "documents": [
            document("to_khai", "to-khai-03.pdf", b"%PDF-1.7 " + person.id_number.encode()),
            {
                "kind": "giay_to_tuy_than",
                "filename": "can-cuoc.pdf",
                "sha256": hashlib.sha256(b"can cuoc " + person.id_number.encode()).hexdigest(),
            },
        ],
    }


def error_of(r: httpx.Response, status: int, code: str | None = None) -> str:
    """The message of an error answer, after checking its status and envelope."""
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    if code is not None:
        assert body["error"]["code"] == code, body
    assert body["error"]["message"], body
    message: str = body["error"]["message"]
    return message


# --------------------------------------------------------------------------- waiting


async def submit(
    api: Api, http: httpx.AsyncClient, person: Person, *, as_applicant: bool = False, **kw: Any
) -> str:
    headers = api.applicant(person) if as_applicant else api.headers(*INTAKE)
    r = await http.post("/v1/dossiers", json=submission(person, **kw), headers=headers)
    assert r.status_code == 201, r.text
    code: str = r.json()["code"]
    return code


async def act(
    api: Api,
    http: httpx.AsyncClient,
    code: str,
    who: tuple[Role, str | None],
    action: str,
    **body: Any,
) -> httpx.Response:
    return await http.post(
        f"/v1/dossiers/{code}/actions", json={"action": action, **body}, headers=api.headers(*who)
    )


async def wait_for_step(
    api: Api, http: httpx.AsyncClient, code: str, step_id: str
) -> dict[str, Any]:
    """Poll GET /v1/dossiers/{code} until the dossier is at `step_id`."""
    view: dict[str, Any] = {}
    for _ in range(300):
        r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*AUDITOR))
        assert r.status_code == 200, r.text
        view = r.json()
        if (view.get("current_step") or {}).get("step_id") == step_id:
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"{code} never reached {step_id}: {view.get('current_step')}")


async def caught_up(api: Api, http: httpx.AsyncClient, *codes: str) -> None:
    """Wait until the read model holds every event of these dossiers (lists, tracking and
    events read it; the workflow's projection activity writes it)."""
    for code in codes:
        for _ in range(300):
            r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*AUDITOR))
            assert r.status_code == 200, r.text
            row = await asyncio.to_thread(repository.get_dossier, api.engine, code)
            if row is not None and row.last_event_seq == r.json()["event_seq"]:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"the read model of {code} never caught up")


async def wait_closed(api: Api, code: str) -> None:
    """Wait until the dossier's workflow has completed.

    A closing action (return, withdraw, refuse) answers when its update is done; the
    workflow completes a moment later, after recording the last events. An action that
    arrives in between is aborted by Temporal ("workflow update was aborted by closing
    workflow"), which motcua/service.py's `act` turns into a 404 "no dossier" instead of
    a 409 "closed" (reported as a bug). Tests that check the 409 wait for the end."""
    handle = api.client.get_workflow_handle(code)
    for _ in range(300):
        if (await handle.describe()).status is not WorkflowExecutionStatus.RUNNING:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the workflow of {code} never completed")
