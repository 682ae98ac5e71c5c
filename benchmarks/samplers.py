"""Samplers side by side on the standard problem: nutpie (numba), JAX backends, PyMC's NUTS.

Issue 18 item 2 asks to compare nutpie's backends (numba, JAX) and PyMC's other samplers in one
run and keep the fastest that converges. Every sampler here samples **the same PyMC model**
(``models.build.build_model`` of the speed benchmark's standard problem: hierarchical
``chinchilla``, 4 groups x 25 rows, Student-t) on the same data with the speed benchmark's
settings (4 chains x (500 tune + 1000 draws), target_accept 0.95, seed 1), each in a fresh
interpreter, called twice on the same model object: the first call includes whatever the
sampler compiles, the second shows what its caches save. Imports are excluded.

Rows:

* ``bayescale`` -- ``models.fit`` itself: the same model plus what the product does around the
  sampler (partial centring chosen per group, pivot coordinates, multi-start), nutpie with the
  numba backend and a cached compiled model. Call 1 compiles, call 2 is a warm fit.
* ``nutpie (numba)`` -- ``pm.sample()`` with PyMC's default, which is nutpie's numba backend:
  the like-for-like reference for the rows below (same sampler as bayescale, plain model).
* ``numpyro``, ``blackjax`` -- ``pm.sample(nuts_sampler=...)`` through PyTensor's JAX linker,
  chains vectorised (one XLA device on CPU: PyMC's default ``parallel`` runs them one after
  another; numpyro's vectorised chains measured faster here).
* ``pymc`` -- PyMC's own NUTS (``cores=2``).
* ``nutpie (jax)`` -- ``nutpie.compile_pymc_model(backend="jax", gradient_backend="jax")``:
  one call only (minutes: every gradient crosses from Rust to Python to JAX).

The JAX rows need the optional extra (``uv sync --extra jax``); without it they are reported as
not installed. ``--quick`` runs bayescale and nutpie (numba) only.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import (
    REPO_ROOT,
    min_bulk_ess,
    progress,
    sampler_stats,
    timed,
    write_json,
)

_MARKER = "SAMPLERS_RESULT "
# (label, kind, sampler argument, calls)
FULL = (
    ("bayescale", "bayescale", None, 2),
    ("nutpie (numba)", "pm", "nutpie", 2),
    ("numpyro", "pm", "numpyro", 2),
    ("blackjax", "pm", "blackjax", 2),
    ("pymc", "pm", "pymc", 2),
    ("nutpie (jax)", "nutpie_jax", None, 1),
)
QUICK = FULL[:2]
NEEDS = {"numpyro": ("jax", "numpyro"), "blackjax": ("jax", "blackjax"), "nutpie (jax)": ("jax",)}


def _record(label: str, call: int, wall: float, trace: Any) -> dict[str, Any]:
    import arviz_stats as azs
    import numpy as np

    posterior = trace["posterior"].to_dataset()
    r_hat = azs.rhat(posterior)
    values = np.concatenate([np.ravel(v.values) for v in r_hat.data_vars.values()])
    return {
        "sampler": label,
        "call": call,
        "wall_s": wall,
        "ess_bulk_min": min_bulk_ess(posterior),
        "r_hat_max": float(np.nanmax(values)),
        "divergences": int(trace["sample_stats"]["diverging"].sum()),
        **sampler_stats(trace),
    }


def child(label: str, kind: str, sampler: str | None, calls: int) -> None:
    """Subprocess entry point: run one sampler ``calls`` times, print the records as JSON."""
    from benchmarks.speed import (
        FAMILY,
        REFERENCE_DATA_SEED,
        _import_heavy,
        default_settings,
        reference_model,
    )

    _import_heavy()
    import pymc as pm

    s = default_settings()
    runs = []
    if kind == "bayescale":
        import models
        from models.simulate import example_dataset

        data = example_dataset(REFERENCE_DATA_SEED)
        for call in range(calls):
            fit, wall = timed(lambda: models.fit(data, FAMILY, settings=s))
            runs.append(_record(label, call + 1, wall, fit.trace))
        print(_MARKER + json.dumps(runs), flush=True)
        return
    model = reference_model()
    for name in NEEDS.get(label, ()):  # imported here, so that no timed call pays for it
        importlib.import_module(name)
    if kind == "nutpie_jax":
        import nutpie

        def run() -> Any:
            compiled = nutpie.compile_pymc_model(model, backend="jax", gradient_backend="jax")
            return nutpie.sample(
                compiled, draws=s.draws, tune=s.tune, chains=s.chains, cores=2, seed=s.seed,
                target_accept=s.target_accept, progress_bar=False,
            )  # fmt: skip
    else:
        vectorised = {"nuts_sampler_kwargs": {"chain_method": "vectorized"}}
        kwargs = vectorised if sampler in ("numpyro", "blackjax") else {}

        def run() -> Any:
            with model:
                return pm.sample(
                    draws=s.draws, tune=s.tune, chains=s.chains, cores=2, random_seed=s.seed,
                    target_accept=s.target_accept, progressbar=False, nuts_sampler=sampler,
                    **kwargs,
                )  # fmt: skip

    for call in range(calls):
        trace, wall = timed(run)
        runs.append(_record(label, call + 1, wall, trace))
    print(_MARKER + json.dumps(runs), flush=True)


def _missing(label: str) -> list[str]:
    return [m for m in NEEDS.get(label, ()) if importlib.util.find_spec(m) is None]


def measure(label: str, kind: str, sampler: str | None, calls: int) -> list[dict[str, Any]]:
    """One sampler's calls in a fresh interpreter (a row saying why when it cannot run)."""
    missing = _missing(label)
    if missing:
        return [{"sampler": label, "error": f"not installed: {', '.join(missing)} (extra 'jax')"}]
    args = f"{label!r}, {kind!r}, {sampler!r}, {calls}"
    code = f"from benchmarks.samplers import child; child({args})"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=dict(os.environ), capture_output=True,
        text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        return [{"sampler": label, "error": proc.stderr.strip().splitlines()[-1][:300]}]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith(_MARKER))
    return list(json.loads(line[len(_MARKER) :]))


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown table of every call, with wall time relative to bayescale's warm fit."""
    warm = next(
        (r["wall_s"] for r in rows if r.get("sampler") == "bayescale" and r.get("call") == 2), None
    )
    head = (
        "| sampler | call | wall s | × bayescale warm | min bulk ESS | max R-hat | divergences "
        "| steps / draw |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines = [head]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['sampler']} | — | {r['error']} | | | | | |")
            continue
        ratio = f"{r['wall_s'] / warm:.1f}" if warm else "—"
        steps = r.get("mean_leapfrog_steps")
        lines.append(
            f"| {r['sampler']} | {r['call']} | {r['wall_s']:.2f} | {ratio} "
            f"| {r['ess_bulk_min']:.0f} | {r['r_hat_max']:.3f} | {r['divergences']} | "
            f"{'—' if steps is None else f'{steps:.0f}'} |"
        )
    return "\n".join(lines)


def run(data_dir: Path, out_dir: Path, quick: bool) -> dict[str, Any]:
    """Run every sampler (``quick``: bayescale and nutpie's numba backend), print the table."""
    rows: list[dict[str, Any]] = []
    for label, kind, sampler, calls in QUICK if quick else FULL:
        progress(f"samplers: {label}")
        rows.extend(measure(label, kind, sampler, calls))
    result = {"quick": quick, "runs": rows}
    print(table(rows))
    write_json(out_dir, "samplers-quick" if quick else "samplers", result)
    return result
