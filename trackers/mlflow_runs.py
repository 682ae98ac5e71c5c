"""Runs of an MLflow experiment, read through MLflow's own client (the ``mlflow`` extra)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from trackers.rows import ImportResult, RunHistory, TrackerError, import_runs

PAGE = 1000


def mlflow_rows(
    tracking_uri: str, experiment: str, loss: str, mapping: Mapping[str, str]
) -> ImportResult:
    """Rows of every active run of ``experiment``: one per step at which ``loss`` was logged.

    Parameters
    ----------
    tracking_uri
        The MLflow server (``http://host:5000``) or store (``sqlite:///mlflow.db``).
    experiment
        Experiment name.
    loss
        The metric whose history gives the rows.
    mapping
        ``{field: source}``: a parameter or tag (one value per run), a metric (its value at the
        row's step), or ``step`` / ``step*K`` (the step number, times K).

    Raises
    ------
    TrackerError
        An unknown experiment, metric or parameter, named in ``field``.
    """
    return import_runs(
        lambda wanted: read_mlflow(tracking_uri, experiment, wanted),
        loss,
        mapping,
        f"experiment '{experiment}'",
    )


def read_mlflow(tracking_uri: str, experiment: str, wanted: Collection[str]) -> list[RunHistory]:
    """Each active run with its parameters and tags and the histories of ``wanted`` metrics."""
    client = _client(tracking_uri)
    from mlflow.exceptions import MlflowException

    try:
        found = client.get_experiment_by_name(experiment)
    except MlflowException as exc:
        raise TrackerError(
            f"MLflow at {tracking_uri}: {exc.message}", field="tracking-uri"
        ) from None
    if found is None:
        names = sorted(e.name for e in client.search_experiments(max_results=100))
        raise TrackerError(
            f"no MLflow experiment '{experiment}' at {tracking_uri} "
            f"(experiments: {', '.join(names) or 'none'})",
            field="experiment",
        )
    runs: list[RunHistory] = []
    token: str | None = None
    while True:
        page = client.search_runs([found.experiment_id], max_results=PAGE, page_token=token)
        for run in page:
            runs.append(_history(client, run, wanted))
        token = page.token
        if not token:
            break
    if not runs:
        raise TrackerError(f"experiment '{experiment}' has no runs", field="experiment")
    return runs


def _client(tracking_uri: str) -> Any:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise TrackerError(
            "importing from MLflow needs its client: pip install 'bayescale[mlflow]'",
            field="tracking-uri",
        ) from None
    return MlflowClient(tracking_uri=tracking_uri)


def _history(client: Any, run: Any, wanted: Collection[str]) -> RunHistory:
    # parameters win over tags of the same name: they are what the run was launched with
    values: dict[str, str | float | bool] = {**run.data.tags, **run.data.params}
    metrics: dict[str, dict[int, float]] = {}
    for key in run.data.metrics:
        if key not in wanted:
            metrics[key] = {}  # named in messages, its history not loaded
            continue
        series: dict[int, float] = {}
        # a step logged twice (a resumed run) keeps its latest value
        for m in sorted(client.get_metric_history(run.info.run_id, key), key=lambda m: m.timestamp):
            series[int(m.step)] = float(m.value)
        metrics[key] = series
    name = run.info.run_name or run.info.run_id
    return RunHistory(run=run.info.run_id, name=name, values=values, metrics=metrics)
