"""The sender: rounds that claim due outbox rows, deliver them, and record what happened.

Runs as a task of the centre's worker process (`start_notifications`, from
motcua/stack.py), as many as there are centre workers: the claims
(store/repository/outbox_delivery.py) keep them from sending a row twice. A failed
attempt is tried again after a backoff that doubles (MOTCUA_NOTIFY_BACKOFF_SECONDS, up
to MOTCUA_NOTIFY_BACKOFF_MAX_SECONDS); after MOTCUA_NOTIFY_MAX_ATTEMPTS, or at once when
the failure is permanent, the row is given up with its last error (`motcua outbox
list --state failed`, `motcua outbox retry`). A round that fails as a whole (the database
away) is logged and the next one tries again: the worker never stops for it."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter
from sqlalchemy.engine import Engine

from infra.settings import Settings
from infra.telemetry.metrics import REGISTRY
from services.notify.channels import DeliveryError, Transport, transports_from
from services.notify.status import masked_reference
from store.models import OutboxRow
from store.repository.outbox_delivery import (
    claim_outbox,
    outbox_attempt_failed,
    outbox_delivered,
    outbox_unclaim,
)

log = logging.getLogger("services.notify")

DELIVERIES = Counter(
    "motcua_notifications",
    "Notification delivery attempts, by channel and outcome (sent, retrying, failed)",
    ("channel", "outcome"),
    registry=REGISTRY,
)

# Messages of one channel sent at once by one sender.
CONCURRENCY = 4
# A row whose claim has less than this part of its lease left is given back untried, not
# sent: another sender may take it once the claim has run out, and it must not be in
# flight then (the lease is much longer than a transport's timeout).
LEASE_MARGIN = 0.25


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    backoff: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=5)
    max_age: timedelta | None = timedelta(hours=72)

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_attempts=settings.notify_max_attempts,
            backoff=timedelta(seconds=settings.notify_backoff_seconds),
            backoff_max=timedelta(seconds=settings.notify_backoff_max_seconds),
            lease=timedelta(seconds=settings.notify_lease_seconds),
            max_age=timedelta(hours=settings.notify_max_age_hours) or None,
        )

    def stale(self, row: OutboxRow, now: datetime) -> bool:
        """Never tried (nor queued again by hand) and older than `max_age`."""
        return (
            self.max_age is not None
            and row.next_attempt_at is None
            and row.created_at < now - self.max_age
        )

    def retry_at(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after `attempts` failed ones (None: give up)."""
        if attempts >= self.max_attempts:
            return None
        wait: timedelta = self.backoff * (2 ** max(attempts - 1, 0))
        return now + min(wait, self.backoff_max)


@dataclass
class Round:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    lost: int = 0  # our claim ran out before we could record the outcome


def sender_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class NotificationSender:
    engine: Engine
    transports: Mapping[str, Transport]
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    batch: int = 50
    name: str = field(default_factory=sender_name)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    async def deliver_round(self) -> Round:
        """Claim what is due and deliver it; the outcome of each row recorded."""
        if not self.transports:
            return Round()
        rows = await asyncio.to_thread(
            claim_outbox,
            self.engine,
            sorted(self.transports),
            sender=self.name,
            limit=self.batch,
            lease=self.policy.lease,
            max_attempts=self.policy.max_attempts,
            now=self.clock(),
        )
        result = Round()
        gates = {channel: asyncio.Semaphore(CONCURRENCY) for channel in self.transports}

        async def one(row: OutboxRow) -> None:
            async with gates[row.channel]:
                await self._deliver(row, result)

        await asyncio.gather(*(one(row) for row in rows))
        return result

    async def _deliver(self, row: OutboxRow, result: Round) -> None:
        transport = self.transports[row.channel]
        if (
            row.claimed_until
            and self.clock() >= row.claimed_until - self.policy.lease * LEASE_MARGIN
        ):
            await asyncio.to_thread(outbox_unclaim, self.engine, row.id, sender=self.name)
            return
        try:
            if self.policy.stale(row, self.clock()):
                raise DeliveryError(
                    f"not sent: older than {self.policy.max_age} when first tried "
                    "(`motcua outbox retry` sends it anyway)",
                    permanent=True,
                )
            await transport.send(row)
        except DeliveryError as exc:
            error, permanent = str(exc), exc.permanent
        except Exception as exc:  # a bug in a transport must not stop the others
            log.exception(
                "notifications: %s %s failed unexpectedly", row.channel, masked_reference(row)
            )
            error, permanent = f"{type(exc).__name__}: {exc}", False
        else:
            if await asyncio.to_thread(
                outbox_delivered, self.engine, row.id, sender=self.name, at=self.clock()
            ):
                result.sent += 1
                DELIVERIES.labels(row.channel, "sent").inc()
            else:
                result.lost += 1
                log.warning("notifications: %s sent after our claim ran out", masked_reference(row))
            return
        now = self.clock()
        retry_at = None if permanent else self.policy.retry_at(row.attempts, now)
        recorded = await asyncio.to_thread(
            outbox_attempt_failed,
            self.engine,
            row.id,
            sender=self.name,
            error=error,
            retry_at=retry_at,
            at=now,
        )
        if not recorded:
            result.lost += 1
            return
        if retry_at is None:
            result.failed += 1
            outcome, what = "failed", f"given up after {row.attempts} attempt(s)"
        else:
            result.retrying += 1
            outcome = "retrying"
            what = f"attempt {row.attempts} failed, next at {retry_at.isoformat()}"
        DELIVERIES.labels(row.channel, outcome).inc()
        level = logging.WARNING if retry_at is None else logging.INFO
        log.log(
            level, "notifications: %s %s %s: %s", row.channel, masked_reference(row), what, error
        )

    async def run(self, interval: float) -> None:
        """Rounds forever, `interval` seconds apart (at once again after a full batch)."""
        while True:
            try:
                result = await self.deliver_round()
                if result.sent or result.failed or result.retrying or result.lost:
                    log.info("notifications: %s", result)
                total = result.sent + result.failed + result.retrying + result.lost
                if total >= self.batch:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notifications: round failed; trying again in %ss", interval)
            await asyncio.sleep(interval)


def notification_sender(settings: Settings, engine: Engine) -> NotificationSender | None:
    """The sender the settings configure (None, after one warning a channel, when none
    is): email when MOTCUA_SMTP_HOST is set, SMS when MOTCUA_SMS_GATEWAY_URL is."""
    transports = transports_from(settings)
    if not transports:
        return None
    return NotificationSender(
        engine,
        transports,
        RetryPolicy.from_settings(settings),
        batch=settings.notify_batch,
    )


def start_notifications(settings: Settings, engine: Engine) -> asyncio.Task[None] | None:
    """The centre worker's notification sender, as a task of this event loop."""
    sender = notification_sender(settings, engine)
    if sender is None:
        return None
    log.info("notifications: delivering %s", ", ".join(sorted(sender.transports)))
    return asyncio.create_task(sender.run(settings.notify_interval_seconds))
