"""Runs in a TensorBoard log directory, read by TensorBoard's own event reader.

Every directory under LOGDIR that holds event files is one run (its path relative to LOGDIR);
its scalars are the metrics and its hyperparameters (the HParams plugin's session start) the
run-level values. Needs the ``tensorboard`` extra.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from trackers.rows import ImportResult, RunHistory, TrackerError, import_runs

HPARAMS_TAG = "_hparams_/session_start_info"


def tensorboard_rows(logdir: Path, loss: str, mapping: Mapping[str, str]) -> ImportResult:
    """Rows of every run under ``logdir``: one per step at which the scalar ``loss`` was logged.

    ``mapping`` is as for :func:`trackers.mlflow_rows`, with hyperparameters as the run-level
    values and scalars as the metrics.
    """
    return import_runs(lambda wanted: read_tensorboard(logdir, wanted), loss, mapping, str(logdir))


def run_directories(logdir: Path) -> list[Path]:
    """The directories under ``logdir`` (itself included) that hold event files, sorted."""
    if not logdir.is_dir():
        raise TrackerError(f"{logdir} is not a directory", field="logdir")
    found = {p.parent for p in logdir.rglob("*tfevents*") if p.is_file()}
    if not found:
        raise TrackerError(f"no TensorBoard event files under {logdir}", field="logdir")
    return sorted(found)


def read_tensorboard(logdir: Path, wanted: Collection[str]) -> list[RunHistory]:
    """Each run directory's hyperparameters and the series of the ``wanted`` scalars."""
    try:
        from tensorboard.backend.event_processing import event_accumulator as ea
    except ImportError:
        raise TrackerError(
            "importing TensorBoard logs needs its reader: pip install 'bayescale[tensorboard]'",
            field="logdir",
        ) from None
    runs = []
    for directory in run_directories(logdir):
        # size 0 keeps every event (the default samples a few hundred per tag)
        acc = ea.EventAccumulator(
            str(directory), size_guidance={ea.SCALARS: 0, ea.TENSORS: 0}
        ).Reload()
        relative = directory.relative_to(logdir).as_posix()
        run = logdir.resolve().name if relative == "." else relative
        runs.append(
            RunHistory(run=run, name=run, values=_hparams(acc), metrics=_scalars(acc, wanted))
        )
    return runs


def _scalars(acc: Any, wanted: Collection[str]) -> dict[str, dict[int, float]]:
    from tensorboard.util import tensor_util

    tags = acc.Tags()
    out: dict[str, dict[int, float]] = {}
    for tag in tags["scalars"]:  # written by TF1-style summaries (simple_value)
        out[tag] = {int(e.step): float(e.value) for e in acc.Scalars(tag)} if tag in wanted else {}
    for tag in tags["tensors"]:  # TF2 and tensorboard.summary.Writer write scalar tensors
        if tag.startswith("_hparams_/") or tag in out:
            continue
        if tag not in wanted:
            out[tag] = {}
            continue
        series = {}
        for event in acc.Tensors(tag):
            value = tensor_util.make_ndarray(event.tensor_proto)
            if value.size != 1:
                break  # not a scalar series (an image, a histogram): not a metric
            series[int(event.step)] = float(value.reshape(()))
        else:
            out[tag] = series
    return out


def _hparams(acc: Any) -> dict[str, str | float | bool]:
    from tensorboard.plugins.hparams import plugin_data_pb2

    try:
        content = acc.PluginTagToContent("hparams")[HPARAMS_TAG]
    except KeyError:  # the run logged no hyperparameters
        return {}
    start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    values: dict[str, str | float | bool] = {}
    for name, value in start.hparams.items():
        kind = value.WhichOneof("kind")
        if kind in ("number_value", "string_value", "bool_value"):
            values[name] = getattr(value, kind)
    return values
