"""Per-key request rate limit: a token bucket per API key, in memory per API process.

Each key may make ``per_minute`` requests a minute with bursts up to the same number; over it a
request gets 429 with ``Retry-After``. Buckets live in the process (one per replica), which is
what a limit against a runaway pipeline needs; it is not a global quota.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from service.errors import ServiceError


class RateLimited(ServiceError):
    """Too many requests from one key."""

    status, title = 429, "Too many requests"

    def __init__(self, detail: str, retry_after: float) -> None:
        super().__init__(detail, field="Authorization")
        self.retry_after = retry_after


class RateLimiter:
    """Token buckets keyed by API key prefix; ``per_minute <= 0`` disables the limit."""

    def __init__(self, per_minute: int, clock: Callable[[], float] | None = None) -> None:
        self.per_minute = per_minute
        self.clock = clock or time.monotonic
        self._buckets: dict[str, tuple[float, float]] = {}  # prefix -> (tokens, at)
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Take one token for ``key`` or raise :class:`RateLimited`."""
        if self.per_minute <= 0:
            return
        rate = self.per_minute / 60.0
        with self._lock:
            now = self.clock()
            tokens, at = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - at) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / rate
                raise RateLimited(
                    f"more than {self.per_minute} requests a minute with this key; "
                    f"retry in {wait:.1f} s",
                    retry_after=wait,
                )
            self._buckets[key] = (tokens - 1.0, now)
