"""A local payment gateway (a real HTTP server on its own port and thread) shaped like the
national Payment Platform's flow, speaking infra/payment_gateway.py's wire:

    POST /payments                 open an order (one per order_id: a retry gets the same)
    GET  /payments/<order>         how it stands: pending | paid (the reconciliation query)
    POST /payments/<order>/refund  refund it (one refund per refund_id)
    GET  /pay/<order>              the payment page the citizen opens
    POST /pay/<order>?callback=... the citizen pays; the gateway then POSTs its signed
                                   callback to motcua: `send` (once), `duplicate` (twice,
                                   at once), `drop` (never: only the query will tell),
                                   `delay=<s>` (after a while)

Requests are checked against X-Signature (HMAC-SHA256 of the body, or of the path of a
GET); answers are signed the same way. Every callback's answer is kept for the test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from temporalio.client import Client

from infra.payment_gateway import sign, signed
from store.db import init_db, make_engine
from tests.api.support import Api
from tests.http_serving import serving


@dataclass
class Order:
    order_id: str
    amount_vnd: int
    description: str
    expires_at: datetime
    callback_url: str
    state: str = "pending"
    transaction_id: str = ""
    paid_at: datetime | None = None
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    queries: int = 0
    refund_requests: int = 0  # POST .../refund received (retries included)


class PaymentGatewayServer:
    def __init__(self, secret: str, method: str = "payment_platform") -> None:
        self.secret = secret
        # The key its answers are signed with (another than `secret`: a forged answer).
        self.answer_secret = secret
        self.method = method
        self.orders: dict[str, Order] = {}
        self.creates = 0  # POST /payments received (retries included)
        self.refused: list[str] = []  # requests whose signature did not match
        self.url = ""
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._txn = 0
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("X-Signature", sign(gateway.answer_secret, raw))
                self.end_headers()
                self.wfile.write(raw)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                parts = url.path.strip("/").split("/")
                if parts[0] == "pay" and len(parts) == 2:
                    order = gateway.orders.get(parts[1])
                    if order is None:
                        self._answer(404, {"error": "no such order"})
                        return
                    self._answer(
                        200,
                        {
                            "order_id": order.order_id,
                            "amount_vnd": order.amount_vnd,
                            "description": order.description,
                            "state": order.state,
                        },
                    )
                    return
                if not signed(gateway.secret, url.path.encode(), self.headers.get("X-Signature")):
                    gateway.refused.append(self.path)
                    self._answer(401, {"error": "bad signature"})
                    return
                if parts[0] == "payments" and len(parts) == 2:
                    with gateway._lock:
                        order = gateway.orders.get(parts[1])
                        if order is not None:
                            order.queries += 1
                    if order is None:
                        self._answer(404, {"error": "no such order"})
                        return
                    self._answer(200, gateway.report(order))
                    return
                self._answer(404, {"error": "no such route"})

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                parts = url.path.strip("/").split("/")
                raw = self._body()
                if parts[0] == "pay" and len(parts) == 2:
                    how = parse_qs(url.query).get("callback", ["send"])[0]
                    delay = float(parse_qs(url.query).get("delay", ["0"])[0])
                    try:
                        order = gateway.pay(parts[1], how, delay=delay)
                    except KeyError:
                        self._answer(404, {"error": "no such order"})
                        return
                    except ValueError as exc:
                        self._answer(409, {"error": str(exc)})
                        return
                    self._answer(200, gateway.report(order))
                    return
                if not signed(gateway.secret, raw, self.headers.get("X-Signature")):
                    gateway.refused.append(self.path)
                    self._answer(401, {"error": "bad signature"})
                    return
                body = json.loads(raw or b"{}")
                if parts == ["payments"]:
                    self._answer(200, gateway.create(body))
                elif len(parts) == 3 and parts[0] == "payments" and parts[2] == "refund":
                    answer = gateway.refund(parts[1], body)
                    self._answer(200 if answer else 404, answer or {"error": "no such order"})
                else:
                    self._answer(404, {"error": "no such route"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    # -- the gateway's side --------------------------------------------------------

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.creates += 1
            order = self.orders.get(body["order_id"])
            if order is None:
                order = Order(
                    order_id=body["order_id"],
                    amount_vnd=int(body["amount_vnd"]),
                    description=body.get("description", ""),
                    expires_at=datetime.fromisoformat(body["expires_at"]),
                    callback_url=body["callback_url"],
                )
                self.orders[order.order_id] = order
        return {
            "payment_url": f"{self.url}/pay/{order.order_id}",
            # What a bank app reads from the QR code (VietQR-like; ours).
            "qr_content": f"000201010212PAYGOV|{order.order_id}|{order.amount_vnd}",
            "gateway_ref": f"REF-{order.order_id}",
        }

    def report(self, order: Order) -> dict[str, Any]:
        return {
            "order_id": order.order_id,
            "state": order.state if order.state != "refunded" else "paid",
            "transaction_id": order.transaction_id,
            "amount_vnd": order.amount_vnd,
            "paid_at": order.paid_at.isoformat() if order.paid_at else None,
            "method": self.method,
        }

    def refund(self, order_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
        with self._lock:
            order = self.orders.get(order_id)
            if order is None:
                return None
            order.refund_requests += 1
            refund = order.refunds.get(body["refund_id"])
            if refund is None:
                refund = {
                    "refund_id": body["refund_id"],
                    "amount_vnd": int(body["amount_vnd"]),
                    "reason": body.get("reason", ""),
                    "state": "refunded",
                    "refunded_at": datetime.now(UTC).isoformat(),
                }
                order.refunds[body["refund_id"]] = refund
            return dict(refund)

    def pay(self, order_id: str, how: str = "send", *, delay: float = 0) -> Order:
        """The citizen pays the order; the gateway tells motcua as `how` says."""
        with self._lock:
            order = self.orders[order_id]
            if datetime.now(UTC) >= order.expires_at:
                raise ValueError("the order has expired")
            if order.state == "pending":
                self._txn += 1
                order.state = "paid"
                order.transaction_id = f"GD{self._txn:08d}"
                order.paid_at = datetime.now(UTC)
        if how == "send":
            self._later(order, delay)
        elif how == "duplicate":
            self._later(order, delay)
            self._later(order, delay)
        return order

    def callback_body(self, order: Order, **overrides: Any) -> bytes:
        payload = {
            "order_id": order.order_id,
            "transaction_id": order.transaction_id,
            "amount_vnd": order.amount_vnd,
            "paid_at": order.paid_at.isoformat() if order.paid_at else None,
            "state": "paid",
            "method": self.method,
            **overrides,
        }
        return json.dumps(payload, ensure_ascii=False).encode()

    def send_callback(self, order: Order, **overrides: Any) -> dict[str, Any]:
        """POST the signed callback now; its answer is kept and returned."""
        raw = self.callback_body(order, **overrides)
        headers = {"Content-Type": "application/json", "X-Signature": sign(self.secret, raw)}
        try:
            r = httpx.post(order.callback_url, content=raw, headers=headers, timeout=90)
            outcome = {"status": r.status_code, "answer": r.json()}
        except Exception as exc:  # kept for the test to see
            outcome = {"status": None, "answer": repr(exc)}
        with self._lock:
            order.callbacks.append(outcome)
        return outcome

    def _later(self, order: Order, delay: float) -> None:
        def run() -> None:
            if delay:
                time.sleep(delay)
            self.send_callback(order)

        thread = threading.Thread(target=run, daemon=True)
        self._threads.append(thread)
        thread.start()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=90)


@contextmanager
def payment_gateway(
    secret: str, method: str = "payment_platform"
) -> Iterator[PaymentGatewayServer]:
    gateway = PaymentGatewayServer(secret, method)
    with serving(gateway.server, "payment-gateway") as url:
        gateway.url = url
        try:
            yield gateway
        finally:
            gateway.join()


# The stack's payment settings in these tests: orders that expire after 12 seconds, a
# reconciliation query 2 seconds after an order opens and every 2 seconds after, refunds
# looked for every second.
FAST_PAYMENTS: dict[str, Any] = {
    "payment_expiry_minutes": 0.2,
    "payment_reconcile_after_seconds": 2,
    "payment_reconcile_every_seconds": 2,
    "payment_refund_interval_seconds": 1,
}


@asynccontextmanager
async def paying_stack(
    admin: Client, address: str, state: Path, secret: str, **settings_kw: Any
) -> AsyncIterator[tuple[Api, PaymentGatewayServer]]:
    """The API tests' stack (uvicorn serving the API and the UI, the centre's and every
    agency's worker) on its own SQLite database and namespace, with a local gateway."""
    from tests.api.conftest import serving, settings_for
    from tests.devserver.conftest import new_namespace

    engine = make_engine(f"sqlite:///{state / 'motcua.db'}")
    init_db(engine)
    client = await new_namespace(admin, address, "pay")
    try:
        with payment_gateway(secret) as gateway:
            settings = settings_for(
                state,
                payment_gateway_url=gateway.url,
                payment_gateway_secret=secret,
                **(FAST_PAYMENTS | settings_kw),
            )
            # The gateway calls back where citizens reach the API.
            settings = settings.model_copy(
                update={"public_base_url": f"http://127.0.0.1:{settings.api_port}"}
            )
            async with serving("sqlite", client, settings, engine) as api:
                yield api, gateway
    finally:
        engine.dispose()
