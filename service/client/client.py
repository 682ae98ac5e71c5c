"""``Client``: the bayescale HTTP API as typed Python methods (httpx + pydantic only).

Every method answers with the server's own response schema (``service.schemas``) or a
:class:`~service.client.fits.FitHandle`, and every error answer raises
:class:`~service.client.errors.BayescaleError` naming the field at fault.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from service.client.errors import BayescaleError, error_from_validation
from service.client.fits import FitHandle
from service.client.http import RetryPolicy, Sender
from service.schemas import (
    BatchResponse,
    CompareRequest,
    CompareResponse,
    DatasetCreateRequest,
    DatasetResponse,
    DatasetsResponse,
    FamilyResponse,
    FitRequest,
    FitResponse,
    FitsResponse,
    KeyCreateRequest,
    KeyResponse,
    ObservationBatchRequest,
    ObservationPage,
    ObservationResponse,
    PeakRequest,
    PeakResponse,
    PlanRequest,
    PlanResponse,
    PredictRequest,
    PredictResponse,
    ProbabilityRequest,
    ProbabilityResponse,
    SuggestRequest,
    SuggestResponse,
    TradeoffRequest,
    TradeoffResponse,
)

log = logging.getLogger("bayescale.client")

DEFAULT_URL = "http://127.0.0.1:8000"
# the server's idempotency keys are at most 128 characters
KEY_PREFIX = "bsc-"
FitRef = str | FitHandle


class Client:
    """The bayescale API of one project.

    Parameters
    ----------
    url : str, optional
        Server address; default ``$BAYESCALE_URL``, else ``http://127.0.0.1:8000``.
    api_key : str, optional
        A key of the project (``bsk_...``); default ``$BAYESCALE_API_KEY``. Families and health
        need none.
    project : str, optional
        Project name; default ``$BAYESCALE_PROJECT``, else ``default``.
    timeout : float
        Seconds per attempt (connect, read, write each).
    retries, backoff_s, max_backoff_s
        See :class:`~service.client.http.RetryPolicy`: connection errors, timeouts, 429 and 5xx
        are retried with exponential backoff and jitter; ``Retry-After`` is honoured.
    transport : httpx.BaseTransport, optional
        Where requests go (tests: an ASGI app in process); default the network.
    sleep : callable
        How to wait between retries and polls (tests pass a recorder).
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        project: str | None = None,
        *,
        timeout: float = 10.0,
        retries: int = 5,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = (url or os.environ.get("BAYESCALE_URL") or DEFAULT_URL).rstrip("/")
        api_key = api_key or os.environ.get("BAYESCALE_API_KEY")
        self.project = project or os.environ.get("BAYESCALE_PROJECT") or "default"
        headers = {"User-Agent": "bayescale-client/0.1"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self.http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )
        self.sleep = sleep
        self.sender = Sender(self.http, RetryPolicy(retries, backoff_s, max_backoff_s), sleep)

    def __repr__(self) -> str:
        return f"Client(url={self.url!r}, project={self.project!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _path(self, *parts: str) -> str:
        return "/".join(["/v1/projects", quote(self.project, safe=""), *map(_segment, parts)])

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.sender.request(method, path, **kwargs).json()

    # -- service ----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``{"status": "ok"}`` when the server is up."""
        return dict(self._json("GET", "/health"))

    def ready(self) -> dict[str, Any]:
        """Database (and queue) reachable; a 503 (after retries) raises."""
        return dict(self._json("GET", "/ready"))

    def families(self) -> list[FamilyResponse]:
        """Every scaling-law family: formula, inputs, options, parameters, default priors."""
        return [FamilyResponse.model_validate(f) for f in self._json("GET", "/v1/families")]

    # -- keys (admin role) ------------------------------------------------------------------

    def list_keys(self) -> list[KeyResponse]:
        """The project's keys (prefix, role, name; never the secret)."""
        return [KeyResponse.model_validate(k) for k in self._json("GET", self._path("keys"))]

    def create_key(self, role: str = "read", name: str = "") -> KeyResponse:
        """A new key; ``.key`` holds the secret, shown this once."""
        body = _body(KeyCreateRequest, role=role, name=name)
        answer = self._json("POST", self._path("keys"), json=body, idempotent=False)
        return KeyResponse.model_validate(answer)

    def revoke_key(self, prefix: str) -> KeyResponse:
        """Revoke a key by its prefix; requests with it fail from now on."""
        return KeyResponse.model_validate(self._json("DELETE", self._path("keys", prefix)))

    # -- datasets and observations ----------------------------------------------------------

    def create_dataset(
        self, name: str, description: str = "", *, exist_ok: bool = False
    ) -> DatasetResponse:
        """Create a dataset; with ``exist_ok`` an existing one of that name is returned instead."""
        body = _body(DatasetCreateRequest, name=name, description=description)
        try:
            # with exist_ok a repeat is harmless (409 -> the existing one), so retry freely
            answer = self._json("POST", self._path("datasets"), json=body, idempotent=exist_ok)
        except BayescaleError as exc:
            if exist_ok and exc.status == 409:
                return self.get_dataset(name)
            raise
        return DatasetResponse.model_validate(answer)

    def list_datasets(self) -> list[DatasetResponse]:
        """The project's datasets with their sizes."""
        answer = DatasetsResponse.model_validate(self._json("GET", self._path("datasets")))
        return answer.data

    def get_dataset(self, dataset: str) -> DatasetResponse:
        """One dataset, by name or id."""
        return DatasetResponse.model_validate(self._json("GET", self._path("datasets", dataset)))

    def append_observations(
        self,
        dataset: str,
        rows: Sequence[Mapping[str, Any]] | str,
        *,
        idempotency_key: str | None = None,
        columns: Mapping[str, str] | None = None,
    ) -> BatchResponse:
        """Append a batch atomically: rows as dicts, or CSV text with a header line.

        With ``idempotency_key`` a repeated request stores nothing (``replayed`` is true) and
        every failure is retried; without one only a request that never reached the server is.
        See :meth:`log_observations` for keys derived automatically. ``columns`` (CSV only):
        field -> the column read as it, e.g. ``{"group": "architecture", "data": "tokens"}``
        (``group``, ``run``, an input or ``loss``).
        """
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        kwargs: dict[str, Any]
        if isinstance(rows, str):
            headers["Content-Type"] = "text/csv"
            kwargs = {"content": rows.encode(), "params": _column_params(columns or {})}
        elif columns:
            raise BayescaleError(
                "columns maps CSV columns; rows as dicts name their fields",
                status=422,
                title="Invalid",
                field="columns",
            )
        else:
            kwargs = {"json": _body(ObservationBatchRequest, rows=[_plain(r) for r in rows])}
        answer = self._json(
            "POST",
            self._path("datasets", dataset, "observations"),
            headers=headers,
            idempotent=idempotency_key is not None,
            **kwargs,
        )
        return BatchResponse.model_validate(answer)

    def list_observations(
        self, dataset: str, *, after: int = 0, limit: int = 100
    ) -> ObservationPage:
        """One page, oldest first; pass ``next_after`` as ``after`` for the next page."""
        params = {"after": after, "limit": limit}
        path = self._path("datasets", dataset, "observations")
        return ObservationPage.model_validate(self._json("GET", path, params=params))

    def iter_observations(
        self, dataset: str, *, page_size: int = 1000
    ) -> Iterator[ObservationResponse]:
        """Every observation of the dataset, oldest first, fetched page by page."""
        after: int | None = 0
        while after is not None:
            page = self.list_observations(dataset, after=after, limit=page_size)
            yield from page.data
            after = page.next_after

    def log_observation(
        self,
        dataset: str,
        *,
        loss: float,
        params: float | None = None,
        data: float | None = None,
        steps: float | None = None,
        compute: float | None = None,
        label_noise: float | None = None,
        epochs: float | None = None,
        unique_data: float | None = None,
        group: str | None = None,
        run: str | None = None,
        step: int | None = None,
        meta: Mapping[str, Any] | None = None,
        raise_on_error: bool = True,
    ) -> BatchResponse | None:
        """Report one run's loss from a training loop: one call, safe to retry.

        The idempotency key is derived from ``(dataset, run, step)``: a retried post, or the same
        step reported again after the loop restarted, stores nothing (``replayed``); reporting a
        different loss for an already reported step is a 409. Without ``run`` the key is derived
        from the row itself. ``run`` is the row's ``run`` field (its checkpoints share a run effect
        when fitted); ``run`` and ``step`` are also kept in the row's ``meta``. ``step``
        only names the report; pass ``steps`` when training time is a scaling input
        (``scale_time``).

        Parameters
        ----------
        raise_on_error : bool
            False: a failure (after every retry) is logged as a warning on the
            ``bayescale.client`` logger and None is returned, so a tracking outage never stops
            training.
        """
        inputs = {
            "params": params,
            "data": data,
            "steps": steps,
            "compute": compute,
            "label_noise": label_noise,
            "epochs": epochs,
            "unique_data": unique_data,
            "loss": loss,
            "group": group,
            "run": run,  # checkpoints of one run share a run effect in the fit
        }
        row: dict[str, Any] = {k: v for k, v in inputs.items() if v is not None}
        tags = {k: v for k, v in (("run", run), ("step", step)) if v is not None}
        row["meta"] = {**(meta or {}), **tags}
        identity = [dataset, run, step] if run is not None else [dataset, _plain(row)]
        try:
            return self.append_observations(dataset, [row], idempotency_key=derive_key(identity))
        except BayescaleError as exc:
            if raise_on_error:
                raise
            log.warning("observation not logged to %s: %s", dataset, exc)
            return None

    def log_observations(
        self,
        dataset: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        batch_size: int = 1000,
        raise_on_error: bool = True,
    ) -> list[BatchResponse]:
        """Append many rows in batches of ``batch_size``, each keyed by its content.

        Sending the same rows again (a retry, a rerun of the script) stores nothing. Each batch
        is all-or-nothing; with ``raise_on_error=False`` a failed batch is logged and skipped.
        """
        answers: list[BatchResponse] = []
        for start in range(0, len(rows), batch_size):
            chunk = [_plain(r) for r in rows[start : start + batch_size]]
            try:
                answers.append(
                    self.append_observations(
                        dataset, chunk, idempotency_key=derive_key([dataset, chunk])
                    )
                )
            except BayescaleError as exc:
                if raise_on_error:
                    raise
                log.warning("rows %d.. not logged to %s: %s", start, dataset, exc)
        return answers

    def import_rows(
        self, dataset: str, rows: Sequence[Mapping[str, Any]], *, create: bool = True
    ) -> tuple[int, int]:
        """Add tracked runs' rows (each with ``run`` and ``step``) that the dataset lacks.

        Rows already stored under the same ``(run, step)`` are left alone; each new one is
        sent with :meth:`log_observation`'s ``(dataset, run, step)`` key, so an import that is
        interrupted and run again stores every step once. ``trackers.mlflow_rows`` and
        ``trackers.tensorboard_rows`` make such rows. Returns (added, already there).
        """
        if create:
            self.create_dataset(dataset, exist_ok=True)
        # log_observation keeps run and step in the row's meta
        stored = {
            (str(o.meta["run"]), int(o.meta["step"]))
            for o in self.iter_observations(dataset)
            if "run" in o.meta and "step" in o.meta
        }
        added = 0
        for row in rows:
            run, step = str(row["run"]), int(row["step"])
            if (run, step) in stored:
                continue
            fields = {k: v for k, v in row.items() if k not in ("run", "step")}
            self.log_observation(dataset, run=run, step=step, **fields)
            stored.add((run, step))
            added += 1
        return added, len(rows) - added

    # -- fits -------------------------------------------------------------------------------

    def fit(
        self,
        dataset: str,
        family: str | None = None,
        *,
        sampler: Mapping[str, Any] | None = None,
        max_per_run: int | Literal["default"] | None = "default",
        **options: Any,
    ) -> FitHandle:
        """Queue a fit of ``family`` (None: the server's default) to the dataset's observations.

        ``options`` are :class:`~service.schemas.FitRequest`'s fields: ``family_options``,
        ``pooling``, ``priors``, ``likelihood``, ``filters``, ``holdout``, ``name``, ``tags``;
        ``sampler`` holds ``draws``, ``tune``, ``chains``, ``target_accept``, ``seed``, ``init``,
        ``max_draws`` (None: a fit that mixes too slowly is never sampled longer),
        ``max_tree_depth``, ``deeper_tree_depth`` (None: never sampled again with a deeper tree),
        ``careful_target_accept`` (None: a fit that diverged is never sampled again with smaller
        steps), ``centring`` (``"auto"`` or ``"non_centred"``), ``non_centred_rerun`` (False: a
        fit with a low energy BFMI is never sampled again non-centred).
        ``max_per_run`` thins each run to that many log-spaced checkpoints; None keeps every row;
        ``"default"`` leaves it to the server (30).
        """
        thin = {} if max_per_run in ("default", None) else {"max_per_run": max_per_run}
        body = _body(FitRequest, dataset=dataset, family=family, sampler=sampler, **thin, **options)
        if max_per_run is None:  # null means "keep every row", which _body would drop as unset
            body["max_per_run"] = None
        answer = self._json("POST", self._path("fits"), json=body, idempotent=False)
        return FitHandle(self, FitResponse.model_validate(answer))

    def backtest(
        self,
        dataset: str,
        family: str | None = None,
        *,
        below: Mapping[str, float] | None = None,
        fraction: float | None = None,
        by: str | None = None,
        **options: Any,
    ) -> FitHandle:
        """A fit of part of the data that scores its predictions of the rest.

        ``below``: runs with every named input at most its value train; ``fraction``: per group
        the first fraction ordered by ``by``. The scores are ``handle.result().backtest``.
        """
        holdout = {
            k: v for k, v in (("below", below), ("fraction", fraction), ("by", by)) if v is not None
        }
        return self.fit(dataset, family, holdout=holdout, **options)

    def get_fit(self, fit: FitRef) -> FitHandle:
        """A fit by id, with its current state."""
        answer = self._json("GET", self._path("fits", _fit_id(fit)))
        return FitHandle(self, FitResponse.model_validate(answer))

    def list_fits(
        self,
        *,
        dataset: str | None = None,
        family: str | None = None,
        status: str | None = None,
        tag: str | None = None,
        limit: int = 100,
    ) -> list[FitHandle]:
        """Fits of the project, newest first, filtered by dataset, family, status or tag."""
        query = {"dataset": dataset, "family": family, "status": status, "tag": tag}
        params = {k: v for k, v in query.items() if v is not None} | {"limit": limit}
        answer = FitsResponse.model_validate(self._json("GET", self._path("fits"), params=params))
        return [FitHandle(self, info) for info in answer.data]

    def latest_fit(self, dataset: str, family: str | None = None) -> FitHandle:
        """The newest succeeded fit of ``family`` (None: the server's default) on the dataset.

        404 when there is none.
        """
        path = self._path("datasets", dataset, "fits", "latest")
        answer = self._json("GET", path, params={} if family is None else {"family": family})
        return FitHandle(self, FitResponse.model_validate(answer))

    def delete_fit(self, fit: FitRef) -> None:
        """Delete a fit that is not running, and its posterior."""
        self.sender.request("DELETE", self._path("fits", _fit_id(fit)))

    def diagnostics(self, fit: FitRef) -> dict[str, Any]:
        """R-hat, ESS, divergences, BFMI, LOO with Pareto k, thresholds and warnings."""
        return dict(self._json("GET", self._path("fits", _fit_id(fit), "diagnostics")))

    def download_posterior(self, fit: FitRef, path: str | Path) -> Path:
        """Write the fit's netCDF posterior to ``path`` (``models.load_fit`` reads it)."""
        response = self.sender.request("GET", self._path("fits", _fit_id(fit), "posterior"))
        target = Path(path)
        target.write_bytes(response.content)
        return target

    # -- questions to a succeeded fit -------------------------------------------------------

    def predict(
        self, fit: FitRef, points: Sequence[Mapping[str, float]], **options: Any
    ) -> PredictResponse:
        """Median, mean-curve and new-run intervals per point.

        ``options``: ``group``, ``new_group`` (an unseen ``group`` as a new architecture),
        ``probs``, ``seed``.
        """
        body = _body(PredictRequest, points=points, **options)
        return PredictResponse.model_validate(self._ask(fit, "predict", body))

    def peak(
        self, fit: FitRef, axis: str, at: Mapping[str, float] | None = None, **options: Any
    ) -> PeakResponse:
        """Posterior of where the curve peaks along ``axis`` (other inputs held at ``at``).

        ``options``: ``group``, ``new_group``, ``bracket`` ((low, high) of ``axis``), ``probs``,
        ``seed``.
        """
        body = _body(PeakRequest, axis=axis, at=dict(at or {}), **options)
        return PeakResponse.model_validate(self._ask(fit, "peak", body))

    def plan(self, fit: FitRef, budgets: Sequence[float] = (), **options: Any) -> PlanResponse:
        """N*, D*, L* per budget; with ``target`` (and ``q``) the least compute reaching it.

        ``options`` are :class:`~service.schemas.PlanRequest`'s fields (``group``, ``k``,
        ``max_params``, ``fixed_data``, ``tokens_per_step``, ``probs``, ...).
        """
        body = _body(PlanRequest, budgets=list(budgets), **options)
        return PlanResponse.model_validate(self._ask(fit, "plan", body))

    def probability(
        self,
        fit: FitRef,
        points: Sequence[Mapping[str, float]],
        target: float | Sequence[float],
        **options: Any,
    ) -> ProbabilityResponse:
        """``P(loss < target)`` per point, for a new run (default) or the mean curve."""
        body = _body(ProbabilityRequest, points=points, target=target, **options)
        return ProbabilityResponse.model_validate(self._ask(fit, "probability", body))

    def compare(
        self, fit: FitRef, a: str | None, b: str | None, budget: float, **options: Any
    ) -> CompareResponse:
        """P(L*_a(C) < L*_b(C)): group ``a`` better than ``b``, each allocated optimally."""
        body = _body(CompareRequest, a=a, b=b, budget=budget, **options)
        return CompareResponse.model_validate(self._ask(fit, "compare", body))

    def tradeoff(self, fit: FitRef, target: float, **options: Any) -> TradeoffResponse:
        """Steps each model size needs to reach ``target`` (``scale_time`` fits), cheapest size."""
        body = _body(TradeoffRequest, target=target, **options)
        return TradeoffResponse.model_validate(self._ask(fit, "tradeoff", body))

    def suggest(
        self,
        fit: FitRef,
        candidates: Sequence[Mapping[str, float]],
        target: Mapping[str, float],
        **options: Any,
    ) -> SuggestResponse:
        """Candidate runs ranked by the variance they are expected to remove at ``target``."""
        body = _body(SuggestRequest, candidates=candidates, target=target, **options)
        return SuggestResponse.model_validate(self._ask(fit, "suggest", body))

    def _ask(self, fit: FitRef, question: str, body: dict[str, Any]) -> Any:
        return self._json("POST", self._path("fits", _fit_id(fit), question), json=body)


def derive_key(identity: Sequence[Any]) -> str:
    """A deterministic idempotency key: the same identity always gives the same key."""
    text = json.dumps(list(identity), sort_keys=True, separators=(",", ":"), default=str)
    return KEY_PREFIX + hashlib.sha256(text.encode()).hexdigest()


def _body(schema: type[BaseModel], **fields: Any) -> dict[str, Any]:
    """The request body, checked against the server's schema before sending.

    Arguments left at None are omitted, so the server's defaults apply.
    """
    given = {k: v for k, v in fields.items() if v is not None}
    try:
        checked = schema.model_validate(given)
    except ValidationError as exc:
        raise error_from_validation(exc) from None
    return checked.model_dump(mode="json", exclude_unset=True)


def _plain(value: Any) -> Any:
    """Numbers as Python floats: numpy or torch scalars (anything with ``.item()``), recursively."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


def _segment(part: str) -> str:
    return quote(part, safe="")


def _fit_id(fit: FitRef) -> str:
    return fit.id if isinstance(fit, FitHandle) else fit


def _column_params(columns: Mapping[str, str]) -> list[tuple[str, str]]:
    """A CSV upload's column mapping as the query parameters ``group_col``, ``run_col``, ``map``."""
    named = {"group": "group_col", "run": "run_col"}
    return [
        (named[name], column) if name in named else ("map", f"{name}={column}")
        for name, column in columns.items()
    ]
