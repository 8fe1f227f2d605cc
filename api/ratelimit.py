"""A small in-process sliding-window rate limiter (per caller: the bearer credential,
or the client address when there is none). One API process per host in development; behind several
processes in production, put a shared limiter at the gateway as well."""

from __future__ import annotations

import threading
import time
from collections import deque


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._clock = time.monotonic

    def check(self, key: str) -> float | None:
        """Record a hit; return None if allowed, else the seconds to wait."""
        if self.per_minute <= 0:
            return None
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= 60.0:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return max(0.0, 60.0 - (now - hits[0]))
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle callers
                for k in [k for k, v in self._hits.items() if not v]:
                    del self._hits[k]
            return None
