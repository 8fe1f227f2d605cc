"""The channels the sender can deliver, and how each is made from the settings.

A transport delivers one outbox row of its channel or raises `DeliveryError`. The
registry (`TRANSPORTS`) maps a channel to a factory that makes its transport from the
settings, or says why the channel is off; a deployment (or another adapter, such as a
portal's) adds its own with `register_transport`. A channel without a transport is not
claimed at all: its rows stay pending, visible in `motcua outbox list`."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Protocol

from infra.settings import Settings
from store.models import OutboxRow

log = logging.getLogger("services.notify")


class DeliveryError(Exception):
    """An attempt failed. `permanent`: trying again cannot help (a refused address, a
    request the gateway rejects as invalid), so the row is given up at once."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Transport(Protocol):
    channel: str

    async def send(self, row: OutboxRow) -> None:
        """Deliver `row` (its `recipient` is `<channel>:<address>`), or raise DeliveryError."""
        ...


# A factory gives the channel's transport, or a sentence saying why the channel is off.
TransportFactory = Callable[[Settings], "Transport | str"]
TRANSPORTS: dict[str, TransportFactory] = {}

# Channels queued by activities/notifications.py whose delivery lives elsewhere or is not
# built yet; said once at start so an operator knows why their rows stay pending.
# ("dvcqg" status sync has its own sender, services/portal.py.)
UNDELIVERED = {
    "portal": "no transport delivers the 'portal' channel (officers' worklist and the "
    "applicant's portal account) in this deployment; those notifications stay pending",
}


def register_transport(channel: str, factory: TransportFactory) -> None:
    TRANSPORTS[channel] = factory


def address(row: OutboxRow) -> str:
    """The recipient's address, without the `<channel>:` prefix."""
    prefix = f"{row.channel}:"
    return row.recipient[len(prefix) :] if row.recipient.startswith(prefix) else row.recipient


def message_key(row: OutboxRow) -> str:
    """A short, stable key of the row for the far end to recognise a repeat (Message-ID,
    RequestId): a digest, because the row's id holds the recipient's address."""
    return hashlib.sha256(row.id.encode()).hexdigest()[:32]


def transports_from(settings: Settings) -> dict[str, Transport]:
    """The transports the settings turn on; one warning for each channel left off."""
    made: dict[str, Transport] = {}
    for channel, factory in sorted(TRANSPORTS.items()):
        transport = factory(settings)
        if isinstance(transport, str):
            log.warning("notifications: %s: %s", channel, transport)
        else:
            made[channel] = transport
    for channel, reason in UNDELIVERED.items():
        if channel not in made:
            log.warning("notifications: %s: %s", channel, reason)
    return made
