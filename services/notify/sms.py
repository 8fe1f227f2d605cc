"""SMS through a brandname gateway over HTTP, one JSON message per POST.

What we assumed (modelled on the JSON APIs of Vietnamese brandname (SMS Brandname)
aggregators, e.g. eSMS's `SendMultipleMessage_V4_post_json`; Viettel's and VNPT's own
gateways speak SOAP and would need an adapter of their own behind the same `Transport`):

    POST <MOTCUA_SMS_GATEWAY_URL>   Content-Type: application/json
    {"ApiKey": ..., "SecretKey": ..., "Brandname": "UBND-TINH", "SmsType": "2",
     "Phone": "0912345678", "Content": "...", "IsUnicode": "0", "RequestId": "<row id>"}

- `SmsType` 2 is a customer-care (CSKH) message under the registered brandname;
- `IsUnicode` "0": the content is sent without Vietnamese accents (GSM-7, 160 characters
  a segment), "1": with them (UCS-2, 70); MOTCUA_SMS_UNICODE chooses;
- `RequestId` (a digest of the outbox row's id): the gateway drops a second request with the same id, so a message retried
  after a lost answer is not sent twice;
- the answer: HTTP 200 with `{"CodeResult": "100", "SMSID": ...}` when taken; another
  `CodeResult` (with `ErrorMessage`) when refused. We treat every refusal as worth a retry
  (balance, throttling and brandname problems are fixed on the gateway's side) except
  HTTP 4xx other than 408 and 429, which mean the request itself is wrong.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

from infra.settings import Settings
from services.notify import templates
from services.notify.channels import DeliveryError, address, message_key, register_transport
from store.models import OutboxRow

ACCEPTED = "100"
RETRYABLE_4XX = (408, 429)


class HttpSmsTransport:
    channel = "sms"

    def __init__(self, settings: Settings) -> None:
        assert settings.sms_gateway_url and settings.sms_api_key
        self.url = settings.sms_gateway_url
        self.api_key = settings.sms_api_key.get_secret_value()
        self.secret_key = (
            settings.sms_secret_key.get_secret_value() if settings.sms_secret_key else None
        )
        self.brandname = settings.sms_brandname
        self.sms_type = settings.sms_type
        self.unicode = settings.sms_unicode
        self.segments = settings.sms_max_segments
        self.timeout = settings.sms_timeout_seconds
        self.base_url = settings.public_base_url

    def request(self, row: OutboxRow) -> dict[str, Any]:
        text = templates.sms(
            row, base_url=self.base_url, unicode=self.unicode, segments=self.segments
        )
        body: dict[str, Any] = {
            "ApiKey": self.api_key,
            "Brandname": self.brandname,
            "SmsType": self.sms_type,
            "Phone": "".join(c for c in address(row) if c.isdigit() or c == "+"),
            "Content": text,
            "IsUnicode": "1" if self.unicode else "0",
            "RequestId": message_key(row),
        }
        if self.secret_key:
            body["SecretKey"] = self.secret_key
        return body

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(body, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            raw = response.read()
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            raise DeliveryError(f"SMS gateway answered {raw[:80]!r}, not JSON") from None
        return answer if isinstance(answer, dict) else {}

    async def send(self, row: OutboxRow) -> None:
        body = self.request(row)
        if len(body["Phone"].lstrip("+")) < 9:
            raise DeliveryError(f"'{address(row)}' is not a phone number", permanent=True)
        try:
            answer = await asyncio.to_thread(self._post, body)
        except urllib.error.HTTPError as exc:
            raise DeliveryError(
                f"SMS gateway HTTP {exc.code}",
                permanent=400 <= exc.code < 500 and exc.code not in RETRYABLE_4XX,
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"SMS gateway unreachable: {reason!r}") from None
        code = str(answer.get("CodeResult", ""))
        if code != ACCEPTED:
            raise DeliveryError(
                f"SMS gateway refused: CodeResult {code or '?'} "
                f"{answer.get('ErrorMessage') or ''}".strip()
            )


def _gateway(settings: Settings) -> HttpSmsTransport | str:
    if not settings.sms_gateway_url:
        return "MOTCUA_SMS_GATEWAY_URL is not set; SMS notifications stay pending in the outbox"
    return HttpSmsTransport(settings)


register_transport("sms", _gateway)
