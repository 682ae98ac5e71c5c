"""A submitted fit job: poll it, wait for it (with a status line), then ask it questions."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.client.errors import FitFailedError
from service.client.progress import StatusLine
from service.schemas import (
    CompareResponse,
    FitResponse,
    PeakResponse,
    PlanResponse,
    PredictResponse,
    ProbabilityResponse,
    SuggestResponse,
    TradeoffResponse,
)

if TYPE_CHECKING:
    from service.client.client import Client

DONE = frozenset({"succeeded", "failed"})
# wait()'s first pause: a fit answered from the data's checks, or sampled in a second, ends
# before the server's suggested 2 s; four polls in the first 2 s cost the server nothing
FIRST_POLL_S = 0.25


class FitHandle:
    """A fit job on the server; ``info`` is its state as of the last :meth:`refresh`.

    ``client.fit(...)`` and ``client.get_fit(id)`` return one. Every question method
    (:meth:`predict`, :meth:`plan`, ...) is the client's method of the same name for this fit.
    """

    def __init__(self, client: Client, info: FitResponse) -> None:
        self.client, self.info = client, info

    def __repr__(self) -> str:
        return f"FitHandle(id={self.id!r}, status={self.status!r}, family={self.info.family!r})"

    @property
    def id(self) -> str:
        """The fit's id."""
        return self.info.id

    @property
    def status(self) -> str:
        """``queued``, ``running``, ``succeeded`` or ``failed`` (as of the last refresh)."""
        return self.info.status

    @property
    def done(self) -> bool:
        """Succeeded or failed (as of the last refresh)."""
        return self.info.status in DONE

    def refresh(self) -> FitResponse:
        """Fetch the fit's current state (status, progress, then parameters and diagnostics)."""
        self.info = self.client.get_fit(self.id).info
        return self.info

    def wait(
        self, timeout: float | None = None, poll: float = 2.0, *, progress: bool = False
    ) -> FitHandle:
        """Poll until the fit succeeded; returns ``self`` so calls chain.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait at most; ``TimeoutError`` after (the fit keeps running).
        poll : float
            Seconds between polls once the fit has run a while (the server suggests 2 with
            ``Retry-After``). The first polls come sooner, after ``FIRST_POLL_S`` seconds and
            doubling up to ``poll``, so a fit that ends in a second is not waited on for two.
        progress : bool
            Draw a status line on stderr (redrawn in place on a terminal).

        Raises
        ------
        FitFailedError
            The fit failed; ``detail`` is the worker's reason.
        TimeoutError
            Still not done after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        interval = min(FIRST_POLL_S, poll)
        line = StatusLine(f"fit {self.id[:8]}") if progress else None
        try:
            while True:
                if not self.done:
                    self.refresh()
                if line is not None:
                    line.update(self.status, self.info.progress)
                if self.done:
                    break
                if deadline is not None and time.monotonic() + interval > deadline:
                    raise TimeoutError(
                        f"fit {self.id} still {self.status} after {timeout:g}s (it keeps running; "
                        "wait again or get_fit later)"
                    )
                self.client.sleep(interval)
                interval = min(2 * interval, poll)
        finally:
            if line is not None:
                line.close()
        if self.status == "failed":
            error = self.info.error or {}
            raise FitFailedError(self.id, str(error.get("reason", "unknown")), error.get("field"))
        return self

    def result(self, timeout: float | None = None) -> FitResponse:
        """The succeeded fit (waiting for it): parameters, diagnostics, ``backtest`` scores."""
        return self.wait(timeout).info

    def predict(self, points: Sequence[Mapping[str, float]], **options: Any) -> PredictResponse:
        """:meth:`Client.predict` for this fit."""
        return self.client.predict(self.id, points, **options)

    def peak(
        self, axis: str, at: Mapping[str, float] | None = None, **options: Any
    ) -> PeakResponse:
        """:meth:`Client.peak` for this fit."""
        return self.client.peak(self.id, axis, at, **options)

    def plan(self, budgets: Sequence[float] = (), **options: Any) -> PlanResponse:
        """:meth:`Client.plan` for this fit."""
        return self.client.plan(self.id, budgets, **options)

    def probability(
        self, points: Sequence[Mapping[str, float]], target: float | Sequence[float], **options: Any
    ) -> ProbabilityResponse:
        """:meth:`Client.probability` for this fit."""
        return self.client.probability(self.id, points, target, **options)

    def compare(
        self, a: str | None, b: str | None, budget: float, **options: Any
    ) -> CompareResponse:
        """:meth:`Client.compare` for this fit."""
        return self.client.compare(self.id, a, b, budget, **options)

    def tradeoff(self, target: float, **options: Any) -> TradeoffResponse:
        """:meth:`Client.tradeoff` for this fit."""
        return self.client.tradeoff(self.id, target, **options)

    def suggest(
        self,
        candidates: Sequence[Mapping[str, float]],
        target: Mapping[str, float],
        **options: Any,
    ) -> SuggestResponse:
        """:meth:`Client.suggest` for this fit."""
        return self.client.suggest(self.id, candidates, target, **options)

    def diagnostics(self) -> dict[str, Any]:
        """:meth:`Client.diagnostics` for this fit."""
        return self.client.diagnostics(self.id)

    def download_posterior(self, path: str | Path) -> Path:
        """:meth:`Client.download_posterior` for this fit."""
        return self.client.download_posterior(self.id, path)

    def delete(self) -> None:
        """:meth:`Client.delete_fit` for this fit."""
        self.client.delete_fit(self.id)
