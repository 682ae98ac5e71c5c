"""Import training runs from experiment trackers (MLflow, TensorBoard) as bayescale rows.

``mlflow_rows`` / ``tensorboard_rows`` give one row per logged step of the loss, with ``run``
(the tracker's run id) and ``step``; :func:`merge_csv` writes them to a CSV and
``service.client.Client.import_rows`` sends them to a dataset, both adding only rows not there
yet. The tracker libraries are optional extras, loaded only when a reader runs; the modelling
stack is never imported here.
"""

from trackers.csvfile import merge_csv
from trackers.mlflow_runs import mlflow_rows
from trackers.rows import ImportResult, RunHistory, Skip, TrackerError, rows_from_runs
from trackers.tensorboard_runs import tensorboard_rows

__all__ = [
    "ImportResult",
    "RunHistory",
    "Skip",
    "TrackerError",
    "merge_csv",
    "mlflow_rows",
    "rows_from_runs",
    "tensorboard_rows",
]
