"""Rate limits per caller, with bounded memory, shared by every API process when Redis is
configured.

The counting is the `limits` library's sliding window counter (two counters per caller
and window: the current minute's and the previous one's, weighted by how much of the
previous minute is still in the window). Where the counters live:

- `MOTCUA_RATE_LIMIT_STORAGE=redis://host:6379/0` (or `rediss://`): in Redis, under
  `MOTCUA_RATE_LIMIT_KEY_PREFIX`, so several API processes (and hosts) share one limit.
  Each key expires with its window.
- unset (`memory`): in this process, in `BoundedMemoryStorage`. `limits`' own
  `MemoryStorage` keeps every key of the window (100,000 callers in a minute: 200,000
  keys) and sweeps all of them on every hit, so the flood that a limit is for would grow
  it and slow every request; ours expires keys lazily and holds at most
  `MOTCUA_RATE_LIMIT_MEMORY_KEYS` keys, forgetting the oldest first. A forgotten caller
  starts a fresh window: under a flood of more distinct callers than that, the limit
  weakens for the oldest of them, memory never grows.

Redis down: the limiter falls back to this process's memory (and logs a warning, at most
once per `REDIS_RETRY_SECONDS`, when it retries Redis): each process then limits on its own,
as without Redis, and the API keeps answering. A limiter must not take the centre down.

Who a caller is (see `api.app.RequestGuard`): the token's subject when the bearer token is
valid (its signature verified), else the client address; a string that is not a valid
token counts against its sender's address, so rotating made-up tokens gains nothing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from math import floor

from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage, SlidingWindowCounterSupport, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from starlette.requests import Request

from api.auth import AuthError, bearer_token, verify_request_token

log = logging.getLogger("motcua.ratelimit")

DEFAULT_MEMORY_KEYS = 50_000
# After Redis failed, the seconds during which the memory fallback is used without asking
# Redis again (so a dead Redis costs one timeout per period, not one per request).
REDIS_RETRY_SECONDS = 5.0
# Redis must answer within this, or the request is counted in memory instead.
REDIS_TIMEOUT_SECONDS = 0.5


class BoundedMemoryStorage(Storage, SlidingWindowCounterSupport):
    """In-process counters for the sliding window counter strategy, at most `max_keys` of
    them: a key expires lazily when read, and when a new key would exceed the cap the
    oldest key (by when its counter started) is dropped. Every operation is O(1), and none
    awaits, so each runs whole on the event loop (no locks).

    The windows are those of limits' Redis storage (its Lua scripts, ported): a caller's
    window starts at its first hit, and once a minute has passed the current counter
    becomes the previous one, which then weighs less as it ages. So Redis and memory count
    alike, and a caller's first minute is counted exactly. `clock` is for tests."""

    STORAGE_SCHEME = None  # not registered under a URI scheme: built directly

    def __init__(
        self,
        max_keys: int = DEFAULT_MEMORY_KEYS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        if max_keys < 2:
            raise ValueError("max_keys must be at least 2 (a window needs two counters)")
        self.max_keys = max_keys
        self.clock = clock
        self.counts: dict[str, int] = {}
        # key -> expiry time; insertion order is the order the counters started in.
        self.expirations: dict[str, float] = {}
        self.evicted = 0

    def __len__(self) -> int:
        return len(self.expirations)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ValueError

    # -- plain counters -------------------------------------------------------------------

    def _ttl(self, key: str, now: float) -> float:
        """Seconds `key` has left (0: no such key, or expired, and then dropped)."""
        expiry = self.expirations.get(key)
        if expiry is None:
            return 0.0
        if expiry <= now:
            self._drop(key)
            return 0.0
        return expiry - now

    def _drop(self, key: str) -> None:
        self.expirations.pop(key, None)
        self.counts.pop(key, None)

    def _set(self, key: str, count: int, expires_at: float) -> None:
        self._drop(key)  # re-inserted last: the newest
        self.counts[key] = count
        self.expirations[key] = expires_at
        while len(self.expirations) > self.max_keys:
            self._drop(next(iter(self.expirations)))
            self.evicted += 1

    async def incr(self, key: str, expiry: int | float, amount: int = 1) -> int:
        now = self.clock()
        if self._ttl(key, now) == 0:
            self._set(key, amount, now + expiry)
        else:
            self.counts[key] += amount
        return self.counts[key]

    async def get(self, key: str) -> int:
        return self.counts[key] if self._ttl(key, self.clock()) else 0

    async def get_expiry(self, key: str) -> float:
        now = self.clock()
        return now + self._ttl(key, now)

    async def check(self) -> bool:
        return True

    async def reset(self) -> int | None:
        n = len(self.expirations)
        self.counts.clear()
        self.expirations.clear()
        return n

    async def clear(self, key: str) -> None:
        self._drop(key)

    # -- the sliding window counter ---------------------------------------------------------

    @staticmethod
    def _keys(key: str) -> tuple[str, str]:
        return f"{key}/previous", key

    def _window(self, key: str, expiry: int, now: float) -> tuple[int, float, int, float]:
        """(previous count, its ttl, current count, its ttl), after moving a current counter
        older than `expiry` to the previous one (limits' sliding_window.lua)."""
        previous_key, current_key = self._keys(key)
        current_ttl = self._ttl(current_key, now)
        if 0 < current_ttl < expiry:
            self._set(previous_key, self.counts[current_key], now + current_ttl)
            self._set(current_key, 0, now + current_ttl + expiry)
        previous_ttl = self._ttl(previous_key, now)
        current_ttl = self._ttl(current_key, now)
        return (
            self.counts[previous_key] if previous_ttl else 0,
            previous_ttl,
            self.counts[current_key] if current_ttl else 0,
            current_ttl,
        )

    async def acquire_sliding_window_entry(
        self, key: str, limit: int, expiry: int, amount: int = 1
    ) -> bool:
        """limits' acquire_sliding_window.lua, in memory."""
        if amount > limit:
            return False
        now = self.clock()
        previous, previous_ttl, current, current_ttl = self._window(key, expiry, now)
        if floor(previous * previous_ttl / expiry) + current + amount > limit:
            return False
        _, current_key = self._keys(key)
        if current_ttl:
            self.counts[current_key] += amount
        else:
            self._set(current_key, amount, now + 2 * expiry)
        return True

    async def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        return self._window(key, expiry, self.clock())

    async def clear_sliding_window(self, key: str, expiry: int) -> None:
        for k in self._keys(key):
            self._drop(k)


class LimitStore:
    """Where every limiter of one API keeps its counters: Redis when configured (with this
    process's memory as the fallback while Redis does not answer), else memory."""

    def __init__(
        self,
        url: str = "",
        *,
        key_prefix: str = "motcua",
        memory_keys: int = DEFAULT_MEMORY_KEYS,
    ) -> None:
        self.memory = BoundedMemoryStorage(memory_keys)
        self._memory_strategy = SlidingWindowCounterRateLimiter(self.memory)
        self.url = url if url not in ("", "memory", "memory://") else ""
        self.redis: RedisStorage | None = None
        self._redis_strategy: SlidingWindowCounterRateLimiter | None = None
        self._pool: object | None = None
        self._redis_down_until = 0.0
        if self.url:
            import redis.asyncio

            pool = redis.asyncio.ConnectionPool.from_url(
                self.url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            self._pool = pool
            self.redis = RedisStorage(
                "async+" + self.url,
                implementation="redispy",
                key_prefix=key_prefix,
                wrap_exceptions=True,
                connection_pool=pool,  # type: ignore[arg-type]
            )
            self._redis_strategy = SlidingWindowCounterRateLimiter(self.redis)

    @property
    def shared(self) -> bool:
        """Counting in Redis just now (not in the fallback)."""
        return self._redis_strategy is not None and time.monotonic() >= self._redis_down_until

    async def hit(self, item: RateLimitItemPerMinute, key: str) -> float | None:
        """Count a hit of `key` against `item`: None if allowed, else the seconds to wait."""
        if self._redis_strategy is not None and time.monotonic() >= self._redis_down_until:
            try:
                return await self._hit(self._redis_strategy, item, key)
            except Exception as e:  # StorageError, a timeout, anything: never a 500
                self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
                cause = e.storage_error if isinstance(e, StorageError) else e
                log.warning(
                    "rate limits: Redis did not answer (%s: %s); counting in this process's "
                    "memory for %.0f s",
                    type(cause).__name__,
                    cause,
                    REDIS_RETRY_SECONDS,
                )
        return await self._hit(self._memory_strategy, item, key)

    @staticmethod
    async def _hit(
        strategy: SlidingWindowCounterRateLimiter, item: RateLimitItemPerMinute, key: str
    ) -> float | None:
        if await strategy.hit(item, key):
            return None
        now = time.time()  # before the strategy's own reading: the wait is never short
        stats = await strategy.get_window_stats(item, key)
        return min(60.0, max(0.0, stats.reset_time - now))

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.disconnect()  # type: ignore[attr-defined]


class RateLimiter:
    """At most `per_minute` hits per key and sliding minute (0: no limit), counted in
    `store` under this limiter's `name`."""

    def __init__(self, per_minute: int, name: str = "requests", store: LimitStore | None = None):
        self.per_minute = per_minute
        self.name = name
        self.store = store or LimitStore()
        self._item = RateLimitItemPerMinute(max(per_minute, 1), namespace=name)

    async def check(self, key: str) -> float | None:
        """Record a hit; return None if allowed, else the seconds to wait."""
        if self.per_minute <= 0:
            return None
        return await self.store.hit(self._item, key)


def client_address(request: Request) -> str:
    """The client's address: the peer, or the X-Forwarded-For client when the peer is a
    trusted proxy (uvicorn rewrites it then, MOTCUA_FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else "unknown"


def caller_key(request: Request) -> str:
    """Who the general limit counts a request against: the subject of a valid bearer token
    (all of a user's tokens share it), else the client address (no token, or a token that
    does not verify: a made-up string counts against whoever sends it)."""
    token = bearer_token(request)
    if token is not None:
        try:
            return "sub:" + verify_request_token(request, token).sub
        except AuthError:
            pass
    return "addr:" + client_address(request)
