"""What the HTTP API tests share: the stack under test (`Api`), the people of a judicial
record certificate dossier (3.000333: intake at the provincial centre, appraisal,
approval and signature at the provincial police, return at the centre), request bodies,
and waiting helpers (the read model and the agency's handoff are asynchronous)."""

from __future__ import annotations

import asyncio
import base64
import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowExecutionStatus

from api.auth import issue_token
from api.errors import STATUS_FOR_CODE
from domain.catalog import Catalog, Role
from domain.dossier import Action, ActionInput, Actor
from domain.fees import fees_due
from infra.settings import Settings
from services.dossiers import DossierService, ServiceError
from store import repository
from tests.devserver.journeys import CENTRE, COMMUNE_CENTRE, POLICE, PROCEDURE, shipped_catalog
from tests.files import jpeg, pdf

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
        "content_base64": b64(content if content is not None else pdf(filename)),
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
            document("to_khai", "to-khai-03.pdf", pdf(person.id_number)),
            document("giay_to_tuy_than", "can-cuoc.jpg", jpeg(f"can cuoc {person.id_number}")),
            *_other_components(procedure, person),
        ],
    }


@lru_cache(maxsize=1)
def _catalog() -> Catalog:
    return shipped_catalog()


def _other_components(procedure: str, person: Person) -> list[dict[str, Any]]:
    """A file for each required component of another procedure than 3.000333, so that an
    online dossier of it is complete (one missing a component is held at intake)."""
    if procedure == PROCEDURE or procedure not in _catalog().procedures:
        return []
    return [
        document(c.kind, f"{c.kind}.pdf", pdf(f"{c.kind} {person.id_number}"))
        for c in _catalog().procedure(procedure).documents
        if c.required and c.kind not in ("to_khai", "giay_to_tuy_than")
    ]


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


def fee_due(procedure: str = PROCEDURE, stage: str = "intake") -> int:
    """The fee of the procedure's stage for an applicant of no exempted group."""
    return fees_due(_catalog().procedure(procedure), stage).total_vnd  # type: ignore[arg-type]


async def pay_fee(
    api: Api,
    http: httpx.AsyncClient,
    code: str,
    who: tuple[Role, str | None] = INTAKE,
    procedure: str = PROCEDURE,
) -> None:
    """The intake officer collects the procedure's fee at the counter (before return)."""
    r = await act(
        api, http, code, who, "pay", data={"amount_vnd": fee_due(procedure), "method": "cash"}
    )
    assert r.status_code == 200, r.text


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
    workflow"), which services/dossiers.py's `act` turns into a 404 "no dossier" instead of
    a 409 "closed" (reported as a bug). Tests that check the 409 wait for the end."""
    handle = api.client.get_workflow_handle(code)
    for _ in range(300):
        if (await handle.describe()).status is not WorkflowExecutionStatus.RUNNING:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the workflow of {code} never completed")


# --------------------------------------------------------------------------- linked groups


def path_code(code: str) -> str:
    """A dossier code as one path segment: a child dossier's code holds '/'
    ("<group code>.<n>"); quoted all the same."""
    return quote(code, safe="")


async def wait_view(
    api: Api, http: httpx.AsyncClient, code: str, test: Callable[[dict[str, Any]], Any], what: str
) -> dict[str, Any]:
    """Poll GET /v1/dossiers/{code} (as an auditor) until `test(view)` holds."""
    view: dict[str, Any] = {}
    for _ in range(300):
        r = await http.get(f"/v1/dossiers/{path_code(code)}", headers=api.headers(*AUDITOR))
        assert r.status_code == 200, r.text
        view = r.json()
        if test(view):
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"{code}: never happened: {what} (status {view.get('status')})")


@dataclass
class ChildDoor:
    """How a test reaches a child dossier of a linked group: over HTTP (the route, the
    code sent as %2F), or through the service the route calls (`DossierService`, with the
    actor the route would build from the token), for when the route cannot."""

    api: Api
    http: httpx.AsyncClient
    over_http: bool

    async def act(
        self, code: str, who: tuple[Role, str | None], action: str, **body: Any
    ) -> tuple[int, dict[str, Any]]:
        if self.over_http:
            r = await self.http.post(
                f"/v1/dossiers/{path_code(code)}/actions",
                json={"action": action, **body},
                headers=self.api.headers(*who),
            )
            return r.status_code, r.json()
        role, agency = who
        actor = Actor(
            id=f"{role.value}@{agency or '-'}", name=f"Test {role.value}", role=role, agency=agency
        )
        service = DossierService(
            self.api.client, self.api.engine, self.api.catalog, self.api.settings
        )
        cmd = ActionInput(actor=actor, comment=body.get("comment", ""), data=body.get("data", {}))
        try:
            view = await service.act(code, Action(action), cmd)
        except ServiceError as exc:
            status = STATUS_FOR_CODE.get(exc.code, 400)
            return status, {"error": {"code": exc.code, "message": exc.message}}
        return 200, view.model_dump(mode="json")

    async def done(
        self, code: str, who: tuple[Role, str | None], action: str, **body: Any
    ) -> dict[str, Any]:
        status, answer = await self.act(code, who, action, **body)
        assert status == 200, (code, action, status, answer)
        return answer

    async def view(self, code: str) -> dict[str, Any]:
        if self.over_http:
            r = await self.http.get(
                f"/v1/dossiers/{path_code(code)}", headers=self.api.headers(*AUDITOR)
            )
            assert r.status_code == 200, (code, r.status_code, r.text)
            answer: dict[str, Any] = r.json()
            return answer
        service = DossierService(
            self.api.client, self.api.engine, self.api.catalog, self.api.settings
        )
        return (await service.state(code)).model_dump(mode="json")

    async def resolve(self, code: str, agency: str) -> dict[str, Any]:
        """The child agency's own officers take the sub-dossier through every step of its
        procedure (the signature only when it has one), and return the result."""
        view = await self.view(code)
        assert view["current_step"]["step_id"] == view["steps"][0]["step_id"], view
        await self.done(code, (Role.INTAKE_OFFICER, agency), "accept", comment="Hồ sơ hợp lệ")
        await self.done(
            code,
            (Role.SPECIALIST, agency),
            "appraise",
            data={"opinion": "Đủ điều kiện", "recommendation": "grant"},
        )
        view = await self.done(code, (Role.LEADER, agency), "approve", comment="Đồng ý")
        if view["current_step"]["kind"] == "signature":
            view = await self.done(
                code, (Role.SIGNER, agency), "sign", data={"document": f"ket-qua-{agency}.pdf"}
            )
        assert view["current_step"]["kind"] == "return", view["current_step"]
        return await self.done(
            code, (Role.RETURN_OFFICER, agency), "return", data={"channel": "online"}
        )


# Reach child dossiers over HTTP, and through the service the routes call.
CHILD_DOORS = [
    pytest.param(True, id="child-over-http"),
    pytest.param(False, id="child-through-service"),
]
