"""Leave-future-out cuts: along model size, whole sizes are held out; elsewhere rows per group."""

from __future__ import annotations

import numpy as np

from models.data import ScalingData
from models.lfo import CUTS, MIN_SIZES, axis_of, cuts, record, size_split
from tests.utils import fake_fit


def trajectories(sizes: dict[str, list[float]], checkpoints: int = 4) -> ScalingData:
    """Each group's models, each with ``checkpoints`` log-spaced token counts."""
    params, data, group = [], [], []
    for g, ns in sizes.items():
        for n in ns:
            for d in np.geomspace(1e9, 1e11, checkpoints):
                params.append(n)
                data.append(d)
                group.append(g)
    p, d = np.array(params), np.array(data)
    loss = 1.7 + 400 * p**-0.34 + 400 * d**-0.28
    return ScalingData({"params": p, "data": d}, loss, group=group)


def test_params_is_the_axis_with_three_sizes_or_more() -> None:
    three = trajectories({"a": [1e7, 1e8, 1e9]})
    two = trajectories({"a": [1e7, 1e8]})
    assert MIN_SIZES == 3
    assert axis_of(three) == "params"
    assert axis_of(two) == "data"  # the scale axis of the varying inputs, as before
    # params derived or not given by the user: not the axis
    assert axis_of(three, measured=["data"]) == "data"


def test_size_cuts_hold_out_whole_larger_models_per_group() -> None:
    data = trajectories(
        {"a": [1e7, 3e7, 1e8, 3e8, 1e9], "b": [2e7, 2e8, 2e9, 2e10], "c": [5e7, 5e8]}
    )
    for f in CUTS:
        train = size_split(data, f)
        for g, n_sizes in (("a", 5), ("b", 4)):
            rows = data.group == g
            p_train, p_test = (
                data.inputs["params"][rows & train],
                data.inputs["params"][rows & ~train],
            )
            n_train = min(max(2, round(f * n_sizes)), n_sizes - 1)
            assert len(np.unique(p_train)) == n_train
            assert p_test.size and p_train.max() < p_test.min()  # whole sizes, only larger ones
        assert train[data.group == "c"].all()  # two sizes: trains, never scored


def test_size_cuts_that_coincide_are_one_cut() -> None:
    data = trajectories({"a": [1e7, 1e8, 1e9]})
    found = cuts(data, "params")
    assert [c.fraction for c in found] == [0.5]  # 2 of 3 sizes at every fraction
    assert set(np.unique(found[0].test.inputs["params"])) == {1e9}
    assert len(found[0].train) == 8 and len(found[0].test) == 4


def test_cuts_along_another_axis_split_each_groups_rows() -> None:
    data = trajectories({"a": [1e7, 1e8]}, checkpoints=10)
    found = cuts(data, "data")
    assert [c.fraction for c in found] == list(CUTS)
    assert [len(c.train) for c in found] == [10, 13, 16]  # round(f x 20) rows by tokens


def test_a_record_keeps_the_groups_of_its_rows() -> None:
    """The discrepancy gives each group above a cut its own shift: the record must say which."""
    fit = fake_fit(seed=1)
    test = fit.data.subset(np.arange(len(fit.data)) % 3 == 0)
    rec = record(fit, test, ["params", "data"])
    np.testing.assert_array_equal(rec.group, test.group)
    assert rec.log_mu.shape[1] == len(test) and rec.z.shape == (len(test),)
