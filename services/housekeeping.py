"""The centre worker's housekeeping: request keys (a submission's and an action's
Idempotency-Key, with the answer kept for a retry) are remembered for
`request_keys_keep_days`, then forgotten, so those tables do not grow for ever.

A plain loop in the centre's worker process, like the archiver: a purge is idempotent, so
two centre workers purging at once, or one purging twice, is harmless."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from store import repository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Forgotten:
    submission_keys: int
    action_keys: int


def forget_old_request_keys(engine: Engine, keep_days: int, now: datetime) -> Forgotten:
    """Forget the request keys claimed more than `keep_days` before `now`."""
    before = now - timedelta(days=keep_days)
    return Forgotten(
        submission_keys=repository.purge_idempotency_keys(engine, before),
        action_keys=repository.purge_action_requests(engine, before),
    )


async def housekeep_forever(
    engine: Engine, keep_days: int, interval: float, *, logger: logging.Logger = log
) -> None:
    """A purge every `interval` seconds, the first at once; errors logged (the database
    may be away: the next round tries again)."""
    while True:
        try:
            done = await asyncio.to_thread(
                forget_old_request_keys, engine, keep_days, datetime.now(UTC)
            )
            if done.submission_keys or done.action_keys:
                logger.info(
                    "forgot %d submission key(s) and %d action key(s) older than %d days",
                    done.submission_keys,
                    done.action_keys,
                    keep_days,
                )
        except Exception:
            logger.exception("request-key housekeeping failed; retrying in %.0f s", interval)
        await asyncio.sleep(interval)
