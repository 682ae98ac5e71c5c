"""One HTTP request with retries: exponential backoff with jitter, ``Retry-After`` honoured.

What is retried: a request that got no answer (connection refused or reset, timeout) and the
answers 429 (rate limited) and 5xx. Never another 4xx: the same request would fail the same way.
A request that is not safe to repeat (``idempotent=False``: creating a fit, a dataset, a key)
is retried only when it provably never reached the server (connection refused, 429), so a retry
cannot create a second fit; appends are made safe to repeat by an ``Idempotency-Key``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from service.client.errors import BayescaleError, error_from_response

log = logging.getLogger("bayescale.client")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry.

    Parameters
    ----------
    retries : int
        Further attempts after the first (0: no retry).
    backoff_s : float
        The first delay; attempt ``i`` waits ``backoff_s * 2**i`` (capped), half of it jittered
        so many clients retrying after one outage do not retry in lockstep.
    max_backoff_s : float
        Cap of one delay, also of a server's ``Retry-After``.
    """

    retries: int = 5
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds before retry number ``attempt`` (0-based): equal jitter over the cap."""
        full = min(self.max_backoff_s, self.backoff_s * 2.0**attempt)
        return full / 2 + rng.uniform(0, full / 2)


class Sender:
    """Sends requests on one ``httpx.Client`` under a :class:`RetryPolicy`."""

    def __init__(
        self,
        http: httpx.Client,
        policy: RetryPolicy,
        sleep: Callable[[float], None],
        seed: int | None = None,
    ) -> None:
        self.http, self.policy, self.sleep = http, policy, sleep
        self.rng = random.Random(seed)

    def request(
        self, method: str, path: str, *, idempotent: bool = True, **kwargs: Any
    ) -> httpx.Response:
        """The 2xx answer to ``method path``; otherwise :class:`BayescaleError` after retries."""
        attempt = 0
        while True:
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                # ConnectError: the request never left, so even a non-idempotent one may repeat
                repeatable = idempotent or isinstance(exc, httpx.ConnectError)
                if not repeatable or attempt >= self.policy.retries:
                    raise BayescaleError(
                        f"{method} {path}: no answer after {attempt + 1} attempt(s): "
                        f"{type(exc).__name__}: {exc}",
                        title="Unreachable",
                    ) from exc
                wait = self.policy.delay(attempt, self.rng)
                log.warning("%s %s: %s; retrying in %.1fs", method, path, exc, wait)
            else:
                if response.is_success:
                    return response
                error = error_from_response(response)
                # 429 is refused before any work; a 5xx may have done it (retry only if safe)
                repeatable = response.status_code == 429 or (
                    idempotent and response.status_code in RETRY_STATUSES
                )
                if not repeatable or attempt >= self.policy.retries:
                    raise error
                wait = self.policy.delay(attempt, self.rng)
                if error.retry_after is not None:
                    wait = min(error.retry_after, self.policy.max_backoff_s)
                log.warning("%s %s: %s; retrying in %.1fs", method, path, error, wait)
            self.sleep(wait)
            attempt += 1
