"""The online payment gateway as motcua speaks to it (the national Payment Platform of
the Cổng Dịch vụ công quốc gia, or a province's gateway): create an order, ask how it
stands (the reconciliation query), refund it. Blocking calls (urllib): activities run
them in their threads.

The wire, ours [uncertain: the platform's published interface names its own fields;
adapt the models here to it, the flow is the same]:

    POST <url>/payments           {order_id, amount_vnd, description, expires_at,
                                   callback_url, return_url}
                                  -> {payment_url, qr_content, gateway_ref}
    GET  <url>/payments/<order>   -> {order_id, state, transaction_id, amount_vnd,
                                      paid_at, method}
    POST <url>/payments/<order>/refund  {refund_id, amount_vnd, reason}
                                  -> {refund_id, state, refunded_at}

Every request body motcua sends, and every answer the gateway gives, is signed with
HMAC-SHA256 over its raw bytes in `X-Signature` (hex), with MOTCUA_PAYMENT_GATEWAY_SECRET,
the key the gateway's callbacks are signed with: an answer whose signature does not
match is not believed (a query's "paid" settles a dossier). A GET is signed over its path.
The gateway keeps one order per `order_id` and one refund per `refund_id`: a retried
request after a lost answer gets the first one's answer, never a second order or refund."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from domain.payments import GatewayOrder, GatewayPayment, Refund


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed(secret: str, body: bytes, signature: str | None) -> bool:
    """Does `signature` (hex) sign `body`? Compared as bytes: a str with non-ASCII
    characters is no match, not an error."""
    return signature is not None and hmac.compare_digest(
        sign(secret, body).encode(), signature.strip().lower().encode()
    )


class GatewayError(Exception):
    """The gateway could not be reached, or answered what cannot be believed.
    `permanent`: it refused the request itself (a 4xx): asking again will not help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class PaymentGateway:
    def __init__(self, url: str, secret: str, timeout: float = 10) -> None:
        self.url = url.rstrip("/")
        self.secret = secret
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        raw = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        signature = sign(self.secret, raw if raw is not None else path.encode())
        request = urllib.request.Request(
            self.url + path,
            data=raw,
            headers={"Content-Type": "application/json; charset=utf-8", "X-Signature": signature},
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = response.read()
                answer_signature = response.headers.get("X-Signature")
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:200].decode(errors="replace")
            raise GatewayError(
                f"gateway HTTP {exc.code} on {method} {path}: {detail}",
                permanent=400 <= exc.code < 500 and exc.code not in (408, 429),
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GatewayError(f"gateway unreachable: {reason!r}") from None
        if not signed(self.secret, answer, answer_signature):
            raise GatewayError(f"the gateway's answer to {method} {path} is not signed right")
        try:
            data = json.loads(answer or b"{}")
        except ValueError:
            raise GatewayError(f"gateway answered {answer[:80]!r}, not JSON") from None
        if not isinstance(data, dict):
            raise GatewayError("gateway answered JSON that is not an object")
        return data

    def create(
        self,
        order_id: str,
        amount_vnd: int,
        description: str,
        expires_at: datetime,
        callback_url: str,
        return_url: str,
    ) -> GatewayOrder:
        data = self._call(
            "POST",
            "/payments",
            {
                "order_id": order_id,
                "amount_vnd": amount_vnd,
                "description": description,
                "expires_at": expires_at.isoformat(),
                "callback_url": callback_url,
                "return_url": return_url,
            },
        )
        try:
            return GatewayOrder.model_validate(data)
        except ValidationError as exc:
            raise GatewayError(f"gateway's order is not usable: {exc}", permanent=True) from None

    def query(self, order_id: str) -> GatewayPayment:
        data = self._call("GET", f"/payments/{urllib.parse.quote(order_id, safe='')}")
        try:
            payment = GatewayPayment.model_validate(data)
        except ValidationError as exc:
            raise GatewayError(f"gateway's answer is not usable: {exc}") from None
        if payment.order_id != order_id:
            raise GatewayError(f"asked about {order_id}, the gateway answered {payment.order_id}")
        return payment

    def refund(self, order_id: str, refund_id: str, amount_vnd: int, reason: str) -> Refund:
        data = self._call(
            "POST",
            f"/payments/{urllib.parse.quote(order_id, safe='')}/refund",
            {"refund_id": refund_id, "amount_vnd": amount_vnd, "reason": reason},
        )
        try:
            return Refund.model_validate(
                {"amount_vnd": amount_vnd, "reason": reason, **data, "refund_id": refund_id}
            )
        except ValidationError as exc:
            raise GatewayError(f"gateway's refund answer is not usable: {exc}") from None
