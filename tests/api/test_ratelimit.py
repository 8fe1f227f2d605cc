"""Rate limits that cannot be escaped or used to fill memory (issue 21): a caller is a valid
token's subject, else the client address, so made-up tokens count against their sender; the
counters in memory stay bounded; with Redis (MOTCUA_RATE_LIMIT_STORAGE) every API process
shares one limit, and a Redis that does not answer does not stop the API.

The apps are the real ones (`create_app`) on a real SQLite read model, without Temporal
(every request here is answered before a workflow would be asked); Redis is the real one
on 127.0.0.1:6379 (MOTCUA_TEST_REDIS_URL), under a key prefix of each test's own."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import jwt
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from starlette.requests import Request

from api.app import create_app
from api.auth import issue_token
from api.ratelimit import BoundedMemoryStorage, caller_key
from domain.catalog import Role
from infra.settings import Settings
from motcua.devserver import find_free_port
from store.db import init_db, make_engine
from tests.api.conftest import settings_for
from tests.api.support import error_of
from tests.conftest import in_ci
from tests.devserver.journeys import shipped_catalog

REDIS_URL = os.environ.get("MOTCUA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Nothing listens here (this test's own port range): a Redis that is down.
DEAD_REDIS_URL = "redis://127.0.0.1:21399/0"


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


# Skipped where no Redis runs, except under CI (as PostgreSQL is): there it must be there.
needs_redis = pytest.mark.skipif(not in_ci() and not _redis_up(), reason=f"no Redis at {REDIS_URL}")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    e = make_engine(f"sqlite:///{tmp_path / 'motcua.db'}")
    init_db(e)
    yield e
    e.dispose()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own; its keys are removed afterwards."""
    prefix = f"motcua-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    r = redis.Redis.from_url(REDIS_URL)
    keys = list(r.scan_iter(f"{prefix}:*"))
    if keys:
        r.delete(*keys)
    r.close()


def limited_settings(tmp_path: Path, **kw: Any) -> Settings:
    return settings_for(tmp_path, temporal_address=f"127.0.0.1:{find_free_port()}", **kw)


def client_for(settings: Settings, engine: Engine) -> TestClient:
    app = create_app(settings, engine=engine, catalog=shipped_catalog())
    return TestClient(app, base_url="http://testserver")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def forged(n: int) -> str:
    """A well-formed token, a fresh subject each time, signed with a key we do not hold."""
    claims = {"iss": "motcua", "aud": "motcua", "sub": f"forged-{n}", "roles": ["admin"]}
    return jwt.encode(claims, "not-the-secret-of-this-service-at-all!!", algorithm="HS256")


def request_from(app: Any, address: str, token: str | None) -> Request:
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    return Request(
        {
            "type": "http",
            "app": app,
            "method": "GET",
            "path": "/v1/procedures",
            "headers": headers,
            "client": (address, 50000),
            "query_string": b"",
        }
    )


def test_rotating_made_up_tokens_does_not_escape_the_limit(tmp_path: Path, engine: Engine) -> None:
    """Each request with another made-up token used to be a caller of its own (the key was
    the Authorization string): now they all count against the sender's address."""
    settings = limited_settings(tmp_path, rate_limit_per_minute=5)
    with client_for(settings, engine) as http:
        statuses = [
            http.get("/v1/procedures", headers=bearer(forged(i))).status_code for i in range(7)
        ]
        assert statuses == [401] * 5 + [429] * 2
        error_of(http.get("/v1/procedures", headers=bearer("x" * 40)), 429, "rate_limited")
        error_of(http.get("/v1/procedures"), 429, "rate_limited")  # no token: same address
        # A valid token is its subject's own limit, apart from the address's.
        citizen = issue_token(settings, sub="citizen-1", roles=[Role.APPLICANT])
        assert http.get("/v1/procedures", headers=bearer(citizen)).status_code == 200
        # ... and all the subject's tokens share it: a new token does not reset it.
        for _ in range(4):
            fresh = issue_token(settings, sub="citizen-1", roles=[Role.APPLICANT])
            assert http.get("/v1/procedures", headers=bearer(fresh)).status_code == 200
        r = http.get(
            "/v1/procedures",
            headers=bearer(issue_token(settings, sub="citizen-1", roles=[Role.APPLICANT])),
        )
        error_of(r, 429, "rate_limited")


def storage_bytes(storage: BoundedMemoryStorage) -> int:
    """What the storage's counters hold: its two tables and their keys."""
    keys = sum(sys.getsizeof(k) for k in storage.expirations)
    return sys.getsizeof(storage.expirations) + sys.getsizeof(storage.counts) + 2 * keys


@pytest.mark.slow
def test_a_hundred_thousand_made_up_tokens_leave_memory_bounded(
    tmp_path: Path, engine: Engine
) -> None:
    """100,000 distinct made-up tokens within one minute (each used to add an entry: 91 MB):
    from one address they are one caller (two counters); from 100,000 addresses (an IPv6
    block) the counters stay at the cap (MOTCUA_RATE_LIMIT_MEMORY_KEYS), the oldest
    forgotten first. Measured as the storage's key count and size, not as time. (Most of the
    tokens are junk, cheap to refuse; a thousand are well-formed JWTs with a wrong
    signature.)"""
    cap = 2_000
    settings = limited_settings(tmp_path, rate_limit_per_minute=5, rate_limit_memory_keys=cap)
    with client_for(settings, engine) as http:
        app: Any = http.app
        limiter = app.state.ctx.limiter
        memory: BoundedMemoryStorage = limiter.store.memory
        memory.clock = lambda: 6_000_010.0  # "within one minute", however long the test takes

        well_formed = [forged(i) for i in range(1_000)]
        tokens = well_formed + [f"bogus.{i:06d}.not-a-signature" for i in range(99_000)]
        assert len(set(tokens)) == 100_000

        async def flood(address_of: Any) -> list[float | None]:
            return [
                await limiter.check(caller_key(request_from(app, address_of(i), token)))
                for i, token in enumerate(tokens)
            ]

        waits = http.portal.call(flood, lambda i: "203.0.113.7")  # type: ignore[union-attr]
        assert sum(w is None for w in waits) == 5  # one caller: its address
        assert len(memory) <= 2, len(memory)
        one_address = storage_bytes(memory)
        assert one_address < 4_096, one_address

        waits = http.portal.call(  # type: ignore[union-attr]
            flood, lambda i: f"2001:db8::{i:x}"
        )
        assert all(w is None for w in waits)  # each address a caller, each within its limit
        assert len(memory) == cap, len(memory)
        assert memory.evicted >= 100_000 - cap
        many_addresses = storage_bytes(memory)
        # ~100 bytes per counter (key, expiry, count) at the cap: some 0.5 MB, not 91 MB.
        assert many_addresses < 1_000 * cap, many_addresses


def test_memory_counters_expire_with_their_window() -> None:
    now = [1_000_000.5]
    storage = BoundedMemoryStorage(max_keys=10, clock=lambda: now[0])

    async def run() -> None:
        for i in range(5):
            await storage.incr(f"k{i}", 120)
        assert len(storage) == 5
        now[0] += 121
        assert await storage.get("k0") == 0  # expired keys are dropped when read ...
        await storage.incr("fresh", 120)
        for i in range(20):  # ... or pushed out by new ones
            await storage.incr(f"n{i}", 120)
        assert len(storage) == 10 and "fresh" not in storage.expirations

    asyncio.run(run())


@needs_redis
def test_two_api_processes_share_one_limit_through_redis(
    tmp_path: Path, engine: Engine, redis_prefix: str
) -> None:
    """Two API instances (two apps, two event loops, two Redis connection pools) count a
    caller together: 4 requests a minute in all, not 4 each; made-up tokens count against
    the address in both."""
    settings = limited_settings(
        tmp_path,
        rate_limit_per_minute=4,
        rate_limit_storage=REDIS_URL,
        rate_limit_key_prefix=redis_prefix,
    )
    token = issue_token(settings, sub="officer-1", roles=[Role.ADMIN])
    with ExitStack() as stack:
        one = stack.enter_context(client_for(settings, engine))
        two = stack.enter_context(client_for(settings, engine))
        statuses = [
            (one if i % 2 == 0 else two).get("/v1/procedures", headers=bearer(token)).status_code
            for i in range(6)
        ]
        assert statuses == [200, 200, 200, 200, 429, 429]
        r = one.get("/v1/procedures", headers=bearer(token))
        error_of(r, 429, "rate_limited")
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        # Another user is not affected; bogus tokens from one address share its limit.
        other = issue_token(settings, sub="officer-2", roles=[Role.ADMIN])
        assert two.get("/v1/procedures", headers=bearer(other)).status_code == 200
        bogus = [
            (one if i % 2 == 0 else two).get("/v1/procedures", headers=bearer(forged(i)))
            for i in range(6)
        ]
        assert [r.status_code for r in bogus] == [401] * 4 + [429] * 2
    # The counters are in Redis, under the prefix, and expire with their window.
    r = redis.Redis.from_url(REDIS_URL)
    keys = list(r.scan_iter(f"{redis_prefix}:*"))
    assert keys and all(0 < r.ttl(k) <= 120 for k in keys), keys
    r.close()


def test_a_redis_that_does_not_answer_does_not_stop_the_api(
    tmp_path: Path, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis down: each process counts in its own memory (the limit still holds there),
    says so in the log, and answers."""
    settings = limited_settings(
        tmp_path, rate_limit_per_minute=3, rate_limit_storage=DEAD_REDIS_URL
    )
    token = issue_token(settings, sub="officer-1", roles=[Role.ADMIN])
    with caplog.at_level(logging.WARNING, "motcua.ratelimit"), client_for(settings, engine) as http:
        statuses = [http.get("/v1/procedures", headers=bearer(token)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
    warnings = [r.getMessage() for r in caplog.records if r.name == "motcua.ratelimit"]
    assert len(warnings) == 1, warnings  # once per retry period, not once per request
    assert "Redis did not answer" in warnings[0] and "memory" in warnings[0]


def test_the_rate_limit_storage_setting() -> None:
    from infra.settings import SettingsError, load_settings

    assert load_settings(rate_limit_storage="memory").rate_limit_storage == "memory"
    assert load_settings(rate_limit_storage=REDIS_URL).rate_limit_storage == REDIS_URL
    with pytest.raises(SettingsError, match="MOTCUA_RATE_LIMIT_STORAGE"):
        load_settings(rate_limit_storage="http://127.0.0.1:6379")
