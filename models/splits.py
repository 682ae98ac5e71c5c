"""Train/test splits of observations for extrapolation: below thresholds, or each curve's start.

Used by backtests (:mod:`models.backtesting`) and by leave-future-out (:mod:`models.lfo`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from models.data import INPUTS, ScalingData
from models.errors import DataError


def split(
    data: ScalingData,
    *,
    below: Mapping[str, float] | None = None,
    fraction: float | None = None,
    by: str | None = None,
) -> tuple[ScalingData, ScalingData]:
    """Split observations into (train, test) for an extrapolation backtest.

    Parameters
    ----------
    data
        Observations.
    below
        Input -> threshold: rows with *every* named input <= its threshold train, the rest test
        (e.g. ``{"params": 1e9}``: fit below 1B parameters, predict above).
    fraction
        In (0, 1): per group, the first ``round(fraction x n)`` rows ordered by ``by`` train
        (at least one row each side when the group has two or more; ties keep row order), the
        rest test. Use it to forecast each curve's continuation.
    by
        The input ordering ``fraction`` splits; default the first canonical input the data has
        (``params``, then ``data``, ``steps``, ... as in :data:`models.data.INPUTS`).

    Raises
    ------
    DataError
        Neither or both of ``below`` / ``fraction``; an input the data lacks; an empty side.
    """
    if (below is None) == (fraction is None):
        raise DataError("give exactly one of below or fraction", field="below")
    if below is not None:
        if not below:
            raise DataError("below needs at least one input threshold", field="below")
        train = np.ones(len(data), dtype=bool)
        for name, threshold in below.items():
            if name not in data.inputs:
                raise DataError(f"cannot split on '{name}': not in the data", field=name)
            train &= data.inputs[name] <= float(threshold)
        where = "below"
    else:
        assert fraction is not None
        if not 0 < fraction < 1:
            raise DataError("fraction must be in (0, 1)", field="fraction")
        name = by or next((n for n in INPUTS if n in data.inputs), "")
        if name not in data.inputs:
            raise DataError(f"cannot order by '{name}': not in the data", field="by")
        train = np.zeros(len(data), dtype=bool)
        for g in data.groups:
            rows = np.flatnonzero(data.group == g)
            order = rows[np.argsort(data.inputs[name][rows], kind="stable")]
            n_train = round(fraction * len(rows))
            if len(rows) >= 2:
                n_train = min(max(n_train, 1), len(rows) - 1)
            train[order[:n_train]] = True
        where = "fraction"
    if train.all() or not train.any():
        side = "test" if train.all() else "train"
        raise DataError(f"the split leaves the {side} set empty", field=where)
    return data.subset(train), data.subset(~train)
