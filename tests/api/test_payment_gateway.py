"""The payment gateway's confirmation, arriving as real HTTP: a stand-in gateway (a real
HTTP server on its own port and thread) is asked over HTTP to charge a dossier's
financial obligation, and then POSTs its signed confirmation to motcua's
/v1/payments/callback, as the real gateway does.

The dossier is a land transfer (1.013831): accepted at the centre, handed to the land
registry branch, appraised, its tax sub-dossier (9.000002) resolved at the tax office,
then at the payment step (status financial_obligation, clock paused) until the gateway
confirms; then it moves on with the clock running. A callback with a bad signature
changes nothing (401), one for a dossier not at a payment step is refused with the
reason (409), and a signed malformed body is a 422."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from api.routes.payments import sign
from domain.catalog import Role
from store import repository
from tests.api.support import (
    AUDITOR,
    CENTRE,
    CHILD_DOORS,
    INTAKE,
    Api,
    ChildDoor,
    Person,
    act,
    caught_up,
    document,
    error_of,
    submit,
    wait_for_step,
    wait_view,
)
from tests.files import pdf
from tests.http_serving import answer_json

LAND_TRANSFER = "1.013831"
TAX_NOTICE = "9.000002"
LAND_BRANCH = "000.14.02.H99"  # Chi nhánh Văn phòng Đăng ký đất đai
TAX_BRANCH = "000.21.01.H99"  # Thuế cơ sở 1
CALLBACK = "/v1/payments/callback"


# --------------------------------------------------------------------------- the gateway


class Gateway:
    """A stand-in payment gateway on 127.0.0.1:<free port>.

    POST /charges {dossier_code, amount_vnd} answers 202 {transaction_id} and then, from
    its own thread, POSTs the signed confirmation to the dossier system's callback URL;
    GET /charges/{id} tells how that went (state pending | done, the callback's status
    and answer); POST /charges/{id}/resend sends the same confirmation again (a retry)."""

    def __init__(self, callback_url: str, secret: str) -> None:
        self.callback_url = callback_url
        self.secret = secret
        self.charges: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                answer_json(self, status, body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                parts = self.path.strip("/").split("/")
                if parts == ["charges"]:
                    txn = gateway.charge(body["dossier_code"], int(body["amount_vnd"]))
                    self._answer(202, {"transaction_id": txn, "state": "pending"})
                elif len(parts) == 3 and parts[0] == "charges" and parts[2] == "resend":
                    if parts[1] not in gateway.charges:
                        self._answer(404, {"error": "no such charge"})
                        return
                    gateway.confirm(parts[1])
                    self._answer(202, {"transaction_id": parts[1], "state": "pending"})
                else:
                    self._answer(404, {"error": "no such route"})

            def do_GET(self) -> None:
                parts = self.path.strip("/").split("/")
                with gateway._lock:
                    charge = gateway.charges.get(parts[1]) if len(parts) == 2 else None
                    answer = dict(charge) if charge else None
                if parts[0] != "charges" or answer is None:
                    self._answer(404, {"error": "no such charge"})
                else:
                    self._answer(200, answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._serving = threading.Thread(target=self.server.serve_forever, daemon=True)

    def charge(self, dossier_code: str, amount_vnd: int) -> str:
        txn = f"GW{next(self._ids):06d}"
        with self._lock:
            self.charges[txn] = {
                "dossier_code": dossier_code,
                "amount_vnd": amount_vnd,
                "receipt_number": f"BL-{txn}",
                "paid_at": datetime.now(UTC).isoformat(),
                "state": "pending",
                "callbacks": [],
            }
        self.confirm(txn)
        return txn

    def confirm(self, txn: str) -> None:
        """Tell the dossier system, after answering the charge (as a gateway does)."""
        thread = threading.Thread(target=self._callback, args=(txn,), daemon=True)
        self._threads.append(thread)
        thread.start()

    def _callback(self, txn: str) -> None:
        with self._lock:
            charge = self.charges[txn]
            charge["state"] = "pending"
            payload = {
                "dossier_code": charge["dossier_code"],
                "transaction_id": txn,
                "receipt_number": charge["receipt_number"],
                "amount_vnd": charge["amount_vnd"],
                "paid_at": charge["paid_at"],
                "method": "vietqr",
            }
        raw = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "X-Signature": sign(self.secret, raw)}
        try:
            r = httpx.post(self.callback_url, content=raw, headers=headers, timeout=30)
            outcome = {"status": r.status_code, "answer": r.json()}
        except Exception as exc:  # recorded for the test to see
            outcome = {"status": None, "answer": repr(exc)}
        with self._lock:
            charge["callbacks"].append(outcome)
            charge["state"] = "done"

    def __enter__(self) -> Gateway:
        self._serving.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._serving.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=30)


@pytest.fixture
def gateway(api: Api) -> Iterator[Gateway]:
    """The gateway, configured like the real one: motcua's callback URL and the secret
    the running API verifies with."""
    with Gateway(api.url + CALLBACK, api.settings.payment_gateway_secret.get_secret_value()) as gw:
        yield gw


async def charged(gw: httpx.AsyncClient, txn: str, callbacks: int = 1) -> dict[str, Any]:
    """Poll the gateway until it has told the dossier system `callbacks` times."""
    charge: dict[str, Any] = {}
    for _ in range(300):
        r = await gw.get(f"/charges/{txn}")
        assert r.status_code == 200, r.text
        charge = r.json()
        if charge["state"] == "done" and len(charge["callbacks"]) >= callbacks:
            return charge
        await asyncio.sleep(0.05)
    raise AssertionError(f"the gateway never called back for {txn}: {charge}")


# --------------------------------------------------------------------------- helpers


def confirmation(code: str, **kw: Any) -> dict[str, Any]:
    return {
        "dossier_code": code,
        "transaction_id": "TEST-1",
        "receipt_number": "BL-TEST-1",
        "amount_vnd": 1_000_000,
        "paid_at": "2025-07-15T09:30:00+07:00",
        **kw,
    }


async def callback(
    api: Api, http: httpx.AsyncClient, raw: bytes, *, secret: str | None = None
) -> httpx.Response:
    """POST a raw body to the callback, signed with `secret` (the API's own by default)."""
    signature = sign(
        api.settings.payment_gateway_secret.get_secret_value() if secret is None else secret, raw
    )
    return await http.post(
        CALLBACK,
        content=raw,
        headers={"Content-Type": "application/json", "X-Signature": signature},
    )


async def at_payment_step(
    api: Api, http: httpx.AsyncClient, door: ChildDoor, online: Person | None = None
) -> tuple[str, dict[str, Any]]:
    """A land transfer walked to its payment step: intake at the centre, appraisal at the
    land registry branch, the tax notice sub-dossier resolved by the tax office. Filed at
    the counter, or online by `online` (whose account may then pay it)."""
    person = online or api.person("sang tên")
    kinds = ["don_dang_ky_bien_dong", "hop_dong_chuyen_quyen", "giay_chung_nhan"]
    if online:  # complete, or it is held at intake: every required component
        required = api.catalog.procedure(LAND_TRANSFER).documents
        kinds += [c.kind for c in required if c.required and c.kind not in kinds]
    body = {
        "procedure_code": LAND_TRANSFER,
        "applicant": {"name": person.name, "id_number": person.id_number, "phone": "0912345678"},
        "channel": "online" if online else "counter",
        "documents": [
            document(kind, f"{kind}.pdf", pdf(f"{kind} {person.id_number}")) for kind in kinds
        ],
    }
    who = api.applicant(online) if online else api.headers(*INTAKE)
    r = await http.post("/v1/dossiers", json=body, headers=who)
    assert r.status_code == 201, r.text
    code: str = r.json()["code"]
    assert code.startswith(f"{LAND_BRANCH}-")
    r = await act(api, http, code, INTAKE, "accept", comment="Hồ sơ đầy đủ")
    assert r.status_code == 200, r.text
    await wait_for_step(api, http, code, "tham_dinh")
    r = await act(
        api,
        http,
        code,
        (Role.SPECIALIST, LAND_BRANCH),
        "appraise",
        data={"opinion": "Đủ điều kiện chuyển nhượng; chuyển thông tin sang cơ quan thuế"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["current_step"]["step_id"] == "xac_dinh_nghia_vu_tai_chinh"

    # -- the tax office determines the obligation: its own sub-dossier, its own officers
    view = await wait_view(
        api,
        http,
        code,
        lambda v: v["children"] and v["children"][0]["acknowledged_at"],
        "the tax office acknowledges",
    )
    [tax] = view["children"]
    assert (tax["code"], tax["procedure_code"], tax["agency"]) == (
        f"{code}.1",
        TAX_NOTICE,
        TAX_BRANCH,
    )
    assert tax["acknowledged_by"] == f"motcua-agency-{TAX_BRANCH}"
    assert view["clock_paused"] is True  # determining the obligation is not counted
    done = await door.resolve(tax["code"], TAX_BRANCH)
    assert (done["status"], done["outcome"]) == ("returned", "granted")

    view = await wait_for_step(api, http, code, "nop_nghia_vu_tai_chinh")
    return code, view


def unchanged(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert after["event_seq"] == before["event_seq"]
    assert after["current_step"]["step_id"] == before["current_step"]["step_id"]
    assert (after["status"], after["clock_paused"]) == (before["status"], before["clock_paused"])


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("over_http", CHILD_DOORS)
async def test_the_gateway_settles_the_financial_obligation(
    api: Api, http: httpx.AsyncClient, gateway: Gateway, over_http: bool
) -> None:
    code, view = await at_payment_step(api, http, ChildDoor(api, http, over_http))

    # -- waiting for the applicant to pay: the clock is paused
    assert (view["status"], view["status_code"]) == ("financial_obligation", 6)
    assert view["clock_paused"] is True and view["paused_since"] is not None
    assert ("pay", "system", None) in {
        (a["action"], a["role"], a["agency"]) for a in view["allowed_actions"]
    }
    assert [(x["reason"], x["end"] is None) for x in view["exclusions"]] == [
        ("xac_dinh_nghia_vu_tai_chinh", False),
        ("financial_obligation", True),
    ]
    before = view

    # -- a callback signed with another key, or for another body: nothing changes
    raw = json.dumps(confirmation(code)).encode()
    r = await callback(api, http, raw, secret="not-the-gateway-secret")
    assert "X-Signature" in error_of(r, 401, "bad_signature")
    tampered = json.dumps(confirmation(code, amount_vnd=1)).encode()
    r = await http.post(
        CALLBACK,
        content=tampered,
        headers={
            "Content-Type": "application/json",
            "X-Signature": sign(api.settings.payment_gateway_secret.get_secret_value(), raw),
        },
    )
    error_of(r, 401, "bad_signature")
    # -- a signed body that is not a confirmation: nothing changes either
    malformed = confirmation(code)
    del malformed["receipt_number"]
    r = await callback(api, http, json.dumps(malformed).encode())
    assert "receipt_number" in error_of(r, 422, "invalid")
    r = await callback(api, http, json.dumps(confirmation(code, amount_vnd="nhiều")).encode())
    assert "amount_vnd" in error_of(r, 422, "invalid")
    # -- a confirmed amount other than the catalog's (the fee of the payment step: the
    #    tax itself is paid to the State Treasury on the tax notice): refused, naming it
    r = await callback(api, http, json.dumps(confirmation(code, amount_vnd=25_000_000)).encode())
    message = error_of(r, 422, "invalid")
    assert "25.000 đồng" in message and "25.000.000 đồng" in message, message
    r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*AUDITOR))
    unchanged(before, r.json())

    # -- the applicant pays at the gateway; the gateway confirms over HTTP
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as gw:
        r = await gw.post("/charges", json={"dossier_code": code, "amount_vnd": 25_000})
        assert r.status_code == 202, r.text
        txn = r.json()["transaction_id"]
        charge = await charged(gw, txn)
        [answer] = charge["callbacks"]
        assert answer == {
            "status": 200,
            "answer": {
                "dossier_code": code,
                "status": "in_progress",
                "current_step": "cap_nhat_ho_so_dia_chinh",
                # No order: a confirmation naming the dossier (tests/api/test_online_payment.py
                # pays orders).
                "order_id": None,
                "payment_status": None,
                "duplicate": False,
            },
        }

        # -- the dossier moved on, with its clock running again
        r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*AUDITOR))
        view = r.json()
        assert view["current_step"]["step_id"] == "cap_nhat_ho_so_dia_chinh"
        assert view["status"] == "in_progress" and view["clock_paused"] is False
        assert view["paused_since"] is None
        assert all(x["end"] is not None for x in view["exclusions"]), view["exclusions"]
        pay_step = next(s for s in view["steps"] if s["step_id"] == "nop_nghia_vu_tai_chinh")
        assert pay_step["ended_at"] is not None
        assert (view["holder"]["action"], view["holder"]["role"], view["holder"]["agency"]) == (
            "appraise",
            "specialist",
            LAND_BRANCH,
        )

        # -- the gateway retries the same confirmation: refused, the dossier is past paying
        r = await gw.post(f"/charges/{txn}/resend")
        assert r.status_code == 202, r.text
        charge = await charged(gw, txn, callbacks=2)
        retry = charge["callbacks"][1]
        assert retry["status"] == 409, retry
        assert retry["answer"]["error"]["code"] == "wrong_step"
        assert "cap_nhat_ho_so_dia_chinh" in retry["answer"]["error"]["message"]

    r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*AUDITOR))
    assert r.json()["event_seq"] == view["event_seq"]

    # -- the record: the payment by the gateway, with its receipt; the retry refused
    await caught_up(api, http, code)
    r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*AUDITOR))
    record = r.json()
    [pay] = [e for e in record["events"] if e["kind"] == "pay"]
    assert (pay["actor_id"], pay["role"], pay["step_id"]) == (
        "payment-gateway",
        "system",
        "nop_nghia_vu_tai_chinh",
    )
    fees = pay["data"].pop("fees")
    assert pay["data"] == {
        "receipt_number": f"BL-{txn}",
        "amount_vnd": 25_000,
        "method": "vietqr",
    }
    assert (fees["stage"], fees["total_vnd"], fees["collector"]) == ("payment", 25_000, CENTRE)
    # -- the e-receipt: the series of the centre (which holds the payment step), its seal,
    #    paid online; the
    #    gateway's own number stays the transaction's, not the receipt's
    [receipt] = await asyncio.to_thread(repository.receipts_of, api.engine, code)
    assert (receipt.agency_code, receipt.amount_vnd, receipt.online) == (CENTRE, 25_000, True)
    r = await http.get(f"/v1/dossiers/{code}/documents", headers=api.headers(*AUDITOR))
    [doc] = [d for d in r.json()["documents"] if d["form"] == "receipt"]
    assert doc["id"] == receipt.document_id and doc["signers"] == [f"seal:{CENTRE}"]
    # -- the portal hears of the online payment (2: a gateway other than the national one)
    flags = [
        json.loads(m.body)["DuocThanhToanTrucTuyen"]
        for m in await asyncio.to_thread(repository.list_outbox, api.engine, code)
        if m.channel == "dvcqg"
    ]
    assert flags[0] == 0 and flags[-1] == 2, flags
    assert txn in pay["comment"]
    # Refused and recorded: the wrong amount, then the retry once past paying.
    refused = [
        (a["actor_id"], a["code"]) for a in record["refused_attempts"] if a["action"] == "pay"
    ]
    assert refused == [("payment-gateway", "invalid"), ("payment-gateway", "wrong_step")]


async def test_a_callback_for_an_intake_fee_is_checked_and_one_with_nothing_to_pay_refused(
    api: Api, http: httpx.AsyncClient
) -> None:
    person = api.person()
    code = await submit(api, http, person)  # 3.000333, at its intake step
    r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*AUDITOR))
    before = r.json()

    # Its fee (200.000 đồng) may be paid online: another amount is refused, naming it.
    r = await callback(api, http, json.dumps(confirmation(code)).encode())
    message = error_of(r, 422, "invalid")
    assert "200.000 đồng" in message and "1.000.000 đồng" in message, message
    r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*AUDITOR))
    unchanged(before, r.json())
    # Once the intake officer has collected it, nothing is left to pay at intake.
    r = await act(api, http, code, INTAKE, "pay", data={"amount_vnd": 200_000, "method": "cash"})
    assert r.status_code == 200, r.text
    r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*AUDITOR))
    before = r.json()
    r = await callback(api, http, json.dumps(confirmation(code)).encode())
    message = error_of(r, 409, "wrong_step")
    assert "Chưa thể thực hiện 'pay' lúc này" in message and "tiep_nhan" in message

    r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*AUDITOR))
    unchanged(before, r.json())

    # An unknown dossier is a 404.
    r = await callback(api, http, json.dumps(confirmation(f"{CENTRE}-000000-9999")).encode())
    error_of(r, 404, "not_found")


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        (b"not json at all", "body"),
        (b"[]", "body"),
        (json.dumps({"dossier_code": "X"}).encode(), "transaction_id"),
        (json.dumps(confirmation("X", amount_vnd=-5)).encode(), "amount_vnd"),
        (json.dumps(confirmation("X", paid_at="hôm qua")).encode(), "paid_at"),
        (json.dumps(confirmation("X", currency="VND")).encode(), "currency"),
    ],
    ids=["not-json", "not-an-object", "missing-fields", "negative-amount", "bad-date", "extra"],
)
async def test_a_signed_malformed_body_is_a_422(
    api: Api, http: httpx.AsyncClient, raw: bytes, names: str
) -> None:
    r = await callback(api, http, raw)
    message = error_of(r, 422, "invalid")
    assert names in message, message


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(None),
        pytest.param("abc"),
        "zz" * 32,
        "0" * 64,
    ],
    ids=["unsigned", "short", "not-hex", "zeros"],
)
async def test_an_unsigned_callback_is_a_401(
    api: Api, http: httpx.AsyncClient, signature: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Signature"] = signature
    r = await http.post(CALLBACK, content=json.dumps(confirmation("X")).encode(), headers=headers)
    error_of(r, 401, "bad_signature")


async def test_the_index_online_payment_figure_equals_a_hand_count(
    api: Api, http: httpx.AsyncClient, gateway: Gateway
) -> None:
    """This month's land transfers, counted by hand from their records (a dossier counts
    when received this month; it was paid online when a gateway confirmed its payment):
    the 766 index says the same, and its rate is the one of the counts. A counter payment
    (the intake fee of a judicial record certificate) is not an online one."""
    code, _ = await at_payment_step(api, http, ChildDoor(api, http, over_http=True))
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as gw:
        r = await gw.post("/charges", json={"dossier_code": code, "amount_vnd": 25_000})
        assert r.status_code == 202, r.text
        await charged(gw, r.json()["transaction_id"])
    # Another, left at its payment step unpaid.
    unpaid, _ = await at_payment_step(api, http, ChildDoor(api, http, over_http=True))
    await caught_up(api, http, code, unpaid)

    now = datetime.now(UTC).astimezone(repository.receipts.TZ)  # type: ignore[attr-defined]
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)

    def hand_count() -> tuple[int, int]:
        with api.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT code, received_at FROM dossiers WHERE procedure_code = :p "
                    "AND received_at IS NOT NULL"
                ),
                {"p": LAND_TRANSFER},
            ).all()
        counted = paid = 0
        for dossier_code, received in rows:
            received = (
                received
                if isinstance(received, datetime)
                else datetime.fromisoformat(str(received))
            )
            if received.tzinfo is None:
                received = received.replace(tzinfo=UTC)
            if received < start:
                continue  # (none finish this month from earlier ones in a fresh database)
            counted += 1
            events = repository.list_events(api.engine, dossier_code)
            paid += any(e.kind == "pay" and e.role == "system" for e in events)
        return counted, paid

    counted, paid = await asyncio.to_thread(hand_count)
    assert counted >= 2 and 1 <= paid < counted
    r = await http.get(
        "/v1/index",
        params={"period": f"{now:%Y-%m}", "procedure": LAND_TRANSFER},
        headers=api.headers(*AUDITOR),
    )
    assert r.status_code == 200, r.text
    [row] = [x for x in r.json()["rows"] if x["procedure_code"] == LAND_TRANSFER]
    assert (row["counts"]["fee_bearing"], row["counts"]["paid_online"]) == (counted, paid)
    assert row["online_payment_rate"] == round(100 * paid / counted, 2)
