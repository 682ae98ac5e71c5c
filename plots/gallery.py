"""``python -m plots.gallery --out docs/images``: one PNG of every plot kind from real fits.

Fits the project's simulators with NUTS (small: 2 chains x 500 draws) and draws each kind on the
fit it applies to:

* the bundled example (four architectures, Chinchilla law, :func:`models.simulate.example_dataset`)
  fitted below 1e9 parameters, as a backtest does, so the larger runs are held out and marked;
* a model-wise double-descent sweep (:mod:`models.families.double_descent`, D = 100);
* a scale-time sweep, five sizes each observed at eight training times;
* two groups of one input whose curves differ in shape (a power law; a broken power law that
  bends in its last decade), fitted with family ``auto`` and ``pooling="compare"``, for
  ``members``: group ``b``'s stacked laws agree inside the data and part beyond it.

The README shows the images this writes; rerun it after changing a plot.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

import models
import plots
from models import example_dataset, simulate_data

SETTINGS = models.SamplerSettings(draws=500, tune=500, chains=2, seed=1)
DOUBLE_DESCENT_TRUTH = {"E": 0.05, "A": 3.0, "alpha": 0.8, "kappa": 1.0, "h0": 3.0, "w": 0.3}


def _double_descent_data() -> models.ScalingData:
    n = np.geomspace(10, 1000, 30)
    family = models.get_family("double_descent")
    return simulate_data(family, DOUBLE_DESCENT_TRUTH, {"params": n, "data": np.full(30, 100.0)})


def _scale_time_data() -> models.ScalingData:
    sizes, steps = np.meshgrid(np.geomspace(1e4, 1e7, 5), np.geomspace(10, 1e5, 8))
    inputs = {"params": sizes.ravel(), "steps": steps.ravel()}
    return simulate_data(models.get_family("scale_time"), models.SCALE_TIME_EXAMPLE, inputs, seed=1)


def _two_shapes_data() -> models.ScalingData:
    x = np.geomspace(1e6, 1e9, 14)
    power = models.get_family("power_law", x="data")
    bent = models.get_family("broken_power_law", x="data", breaks="1")
    a = simulate_data(power, {"E": 1.5, "A": 40.0, "alpha": 0.25}, {"data": x}, seed=1)
    b_truth = {"a": 1.0, "b": 30.0, "c0": 0.2, "c1": 0.5, "d1": 1e8, "f1": 0.3}
    b = simulate_data(bent, b_truth, {"data": x}, seed=2)
    groups = np.array(["a"] * len(x) + ["b"] * len(x))
    return models.ScalingData(
        {"data": np.concatenate([x, x])}, np.concatenate([a.loss, b.loss]), groups
    )


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")


def _fitted(cache: Path | None, name: str, make: Callable[[], models.Fit]) -> models.Fit:
    """``make()``, or the fit saved under ``cache`` by an earlier run (redraw without refitting)."""
    path = cache / f"{name}.nc" if cache is not None else None
    if path is not None and path.exists():
        return models.load_fit(path)
    result = make()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        models.save_fit(result, path)
    return result


def build(out: Path, kinds: Sequence[str], cache: Path | None = None) -> dict[str, int]:
    """Fit, draw every kind in ``kinds`` and write ``out/<kind>.png``; returns the sizes."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    data = example_dataset(0, points_per_group=16)
    below = {"params": 1e9}
    train, held_out, _ = models.holdout_split(data, "chinchilla", below=below)
    fits = {
        "chinchilla": _fitted(
            cache, "chinchilla", lambda: models.fit(train, "chinchilla", settings=SETTINGS)
        )
    }
    if "double_descent" in kinds:
        fits["double_descent"] = _fitted(
            cache,
            "double_descent",
            lambda: models.fit(_double_descent_data(), "double_descent", settings=SETTINGS),
        )
    if "iso_loss" in kinds:
        fits["scale_time"] = _fitted(
            cache,
            "scale_time",
            lambda: models.fit(_scale_time_data(), "scale_time", settings=SETTINGS),
        )
    if "members" in kinds:
        fits["auto"] = _fitted(
            cache,
            "auto",
            lambda: models.fit(
                _two_shapes_data(), models.AUTO, pooling="compare", settings=SETTINGS
            ),
        )
    _say(f"fits ready ({time.monotonic() - started:.0f} s)")
    sizes = {}
    for kind in kinds:
        family = {
            "double_descent": "double_descent",
            "iso_loss": "scale_time",
            "members": "auto",
        }.get(kind)
        fit = fits[family or "chinchilla"]
        options = {"group": "b"} if kind == "members" else {}
        held = held_out if family is None else None
        image = plots.render(kind, fit, fmt="png", held_out=held, **options)
        (out / f"{kind}.png").write_bytes(image)
        sizes[kind] = len(image)
        _say(f"{kind}.png: {len(image) / 1024:.0f} KB")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``--out`` folder, optionally ``--kind`` (repeatable) to draw only some."""
    parser = argparse.ArgumentParser(prog="python -m plots.gallery", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--kind", action="append", choices=list(plots.KINDS))
    parser.add_argument("--cache", type=Path, help="keep the fits here and reuse them next time")
    args = parser.parse_args(argv)
    build(args.out, args.kind or list(plots.KINDS), args.cache)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
