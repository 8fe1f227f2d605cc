"""Delivery of status changes to the national portal (Cổng DVCQG): the read model
queues one `dvcqg` outbox message per status change (activities/notifications.py,
`portal_sync`), and this sender posts them, oldest first, to the configured endpoint,
retrying until the portal acknowledges (HTTP 2xx). A dossier's messages go in order:
after a failure, its later messages wait for the next round. Each carries its id in
`Idempotency-Key`, so a message sent twice (acknowledged, but the ack was lost) is
recognised by the portal."""

from __future__ import annotations

import asyncio
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from store import repository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    sent: int
    failed: int
    waiting: int  # later messages of a dossier whose earlier message failed


@dataclass
class PortalSender:
    engine: Engine
    url: str
    token: str | None = None
    timeout: float = 10

    def _post(self, message_id: str, body: str) -> None:
        headers = {"Content-Type": "application/json", "Idempotency-Key": message_id}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(
            self.url, data=body.encode(), headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            if not 200 <= response.status < 300:
                raise urllib.error.HTTPError(
                    self.url, response.status, "not acknowledged", response.headers, None
                )

    def deliver_pending(self, limit: int = 200) -> Delivery:
        rows = repository.list_pending_outbox(self.engine, limit, channel="dvcqg")
        sent = failed = waiting = 0
        blocked: set[str] = set()
        for row in rows:
            if row.dossier_code in blocked:
                waiting += 1
                continue
            try:
                self._post(row.id, row.body)
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                log.warning("portal did not take %s: %s; retrying later", row.id, exc)
                blocked.add(row.dossier_code)
                failed += 1
                continue
            repository.mark_outbox_sent(self.engine, [row.id], at=datetime.now(UTC))
            sent += 1
        return Delivery(sent=sent, failed=failed, waiting=waiting)


async def sync_forever(sender: PortalSender, interval: float) -> None:
    """The centre worker's portal sync: a round every `interval` seconds."""
    while True:
        try:
            result = await asyncio.to_thread(sender.deliver_pending)
            if result.sent or result.failed:
                log.info("portal sync: %s", result)
        except Exception:
            log.exception("portal sync round failed")
        await asyncio.sleep(interval)
