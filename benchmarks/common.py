"""Shared helpers: machine description, timers, fit-phase instrumentation, tables, JSON output."""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from models import Diagnostics

REPO_ROOT = Path(__file__).resolve().parent.parent
# the real datasets live beside the checkout, never in it; CI may point elsewhere
DEFAULT_DATA_DIR = Path(
    os.environ.get("BAYESCALE_BENCH_DATA", str(REPO_ROOT.parent / "shared" / "data"))
)
DEFAULT_OUT_DIR = REPO_ROOT / "benchmarks" / "out"
PACKAGES = ("pymc", "pytensor", "nutpie", "arviz", "arviz-stats", "numpy", "numba", "scipy")


def cpu_model() -> str:
    """CPU model name from ``/proc/cpuinfo`` (``unknown`` when unavailable)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution, None when it is not installed."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_revision() -> str | None:
    """``HEAD`` of the repository, with ``+dirty`` when the tree has changes."""

    def git(*args: str) -> str:
        run = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        )
        return run.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def environment() -> dict[str, Any]:
    """Machine, versions and date recorded in every JSON result."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model(),
        "load_average_1m": os.getloadavg()[0],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
        "git": git_revision(),
    }


def write_json(out_dir: Path, name: str, payload: dict[str, Any]) -> Path:
    """Write ``payload`` plus :func:`environment` to ``out_dir/name.json``.

    Parameters
    ----------
    out_dir
        Output directory, created if missing.
    name
        Benchmark name; also the file stem.
    payload
        JSON-ready figures (numpy scalars and arrays are converted).

    Returns
    -------
    Path
        The file written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    body = {"benchmark": name, "environment": environment(), **payload}
    path.write_text(json.dumps(body, indent=2, default=_jsonable) + "\n")
    return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# -- timing ------------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Call ``fn`` once; return its result and the wall time in seconds."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def repeat_times(fn: Callable[[], Any], repeats: int, *, warmup: int = 1) -> np.ndarray:
    """Wall times of repeated calls.

    Parameters
    ----------
    fn
        The call to time.
    repeats
        Number of timed calls.
    warmup
        Untimed calls first (caches, lazy imports).

    Returns
    -------
    numpy.ndarray
        Seconds per call, shape ``(repeats,)``.
    """
    for _ in range(warmup):
        fn()
    times = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - start
    return times


def spread(times: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Median, min, p90 and max of a sample of times."""
    arr = np.asarray(times, dtype=float)
    return {
        "n": int(arr.size),
        "median": float(np.median(arr)),
        "min": float(arr.min()),
        "p90": float(np.percentile(arr, 90)),
        "max": float(arr.max()),
    }


def _busy_cpu_seconds() -> float | None:
    """CPU seconds all processes on the machine have used (``/proc/stat``), None if unknown."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def process_tree_cpu_seconds(pids: Sequence[int]) -> float:
    """CPU seconds used by these processes and all their live descendants (``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo, seen = 0.0, list(pids), set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            total += sum(int(v) for v in fields[11:15]) / tick  # utime stime cutime cstime
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue  # exited meanwhile
    return total


@contextmanager
def contention(ours: Callable[[], float] | None = None) -> Iterator[dict[str, Any]]:
    """Measure how much CPU *other* processes used while the context was open.

    Yields a dict filled on exit: wall seconds, other processes' CPU seconds, and that as a share
    of the machine (``other_cpu_s / (wall_s * nproc)``). Timings taken while this share is well
    above zero are inflated: the machine was shared. ``ours`` returns the CPU seconds of
    processes that are part of the measurement (a server under test), which are not "others".
    """
    out: dict[str, Any] = {"load_average_1m_start": os.getloadavg()[0]}
    extra = ours or (lambda: 0.0)
    busy, own, start = _busy_cpu_seconds(), _own_cpu_seconds() + extra(), time.perf_counter()
    try:
        yield out
    finally:
        wall = time.perf_counter() - start
        busy_end = _busy_cpu_seconds()
        out["wall_s"] = wall
        out["load_average_1m_end"] = os.getloadavg()[0]
        if busy is not None and busy_end is not None:
            other = max(busy_end - busy - (_own_cpu_seconds() + extra() - own), 0.0)
            out["other_cpu_s"] = other
            out["other_cpu_share"] = other / (wall * len(os.sched_getaffinity(0)))


CONTENTION_LIMIT = 0.05  # share of the machine other processes may use during a clean measurement


def quietest(
    measure: Callable[[], tuple[dict[str, Any], Any]], tries: int, key: str = "other_cpu_share"
) -> tuple[dict[str, Any], Any]:
    """Repeat a measurement taken while other processes were busy; keep the least disturbed.

    Parameters
    ----------
    measure
        Returns a record holding ``key`` (other processes' share of the machine, see
        :func:`contention`) and any extra object.
    tries
        At most this many attempts; stops at the first with ``key <= CONTENTION_LIMIT``.
    key
        Record field with the contention share.

    Returns
    -------
    tuple
        The least disturbed attempt's record (with ``attempts`` added) and its extra object.
    """
    best: tuple[dict[str, Any], Any] | None = None
    attempts = 0
    while attempts < max(tries, 1):
        attempts += 1
        record, extra = measure()
        share = record.get(key)
        if best is None or _or_one(share) < _or_one(best[0].get(key)):
            best = (record, extra)
        if share is not None and share <= CONTENTION_LIMIT:
            break
    assert best is not None
    best[0]["attempts"] = attempts
    return best


def _or_one(share: float | None) -> float:
    return 1.0 if share is None else share


def contention_note(c: dict[str, Any]) -> str:
    """One line on how busy the machine was with other work during a benchmark."""
    share = c.get("other_cpu_share")
    text = (
        f"other processes used {c.get('other_cpu_s', float('nan')):.0f} CPU s "
        f"({share if share is not None else float('nan'):.0%} of the machine) during "
        f"{c['wall_s']:.0f} s; load average {c['load_average_1m_start']:.2f} -> "
        f"{c['load_average_1m_end']:.2f}"
    )
    if share is not None and share > 0.05:
        text += "  WARNING: machine shared, timings inflated"
    return text


@contextmanager
def fit_phases() -> Iterator[dict[str, float]]:
    """Time the phases of :func:`models.fit` while the context is open.

    Wraps, for the duration of the context only, the callables ``models.fit`` looks up at call
    time: the compiled-model lookup (``COMPILE_CACHE.get``: numba compile on a miss, nutpie
    ``with_data`` on a hit), sampling (``sample_posterior`` without that lookup), the numpy
    log-likelihood, ``diagnose`` (R-hat, ESS, LOO) and the identification checks. Yields a dict
    phase -> seconds (summed over calls).
    """
    import models

    # imported here: the models package loads its modules on first use
    fitting = importlib.import_module("models.fitting")
    sampling = importlib.import_module("models.sampling")
    totals: dict[str, float] = {}

    def wrap(fn: Callable[..., Any], phase: str) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[phase] = totals.get(phase, 0.0) + time.perf_counter() - start

        return timed_call

    # nutpie.sample returns at once since fits got a time limit (blocking=False, then wait):
    # "sample" is sample_posterior minus the compiled-model lookup, set when the context exits.
    targets = [
        (fitting, "pointwise_log_likelihood", "log_likelihood"),
        (fitting, "diagnose", "diagnostics"),
        (fitting, "check_identification", "identification"),
        (sampling, "sample_posterior", "sample_posterior"),
    ]
    originals = [(obj, attr, getattr(obj, attr)) for obj, attr, _ in targets]
    cache = models.COMPILE_CACHE
    try:
        for obj, attr, phase in targets:
            setattr(obj, attr, wrap(getattr(obj, attr), phase))
        cache.get = wrap(cache.get, "get_model")  # type: ignore[method-assign]
        yield totals
    finally:
        for obj, attr, fn in originals:
            setattr(obj, attr, fn)
        del cache.get
        if "sample_posterior" in totals:
            totals["sample"] = totals.pop("sample_posterior") - totals.get("get_model", 0.0)


def sampler_stats(trace: Any) -> dict[str, Any]:
    """Mean leapfrog steps and tree depth per draw (draw phase only) and nutpie's adaptation."""
    node = trace["sample_stats"]
    stats = node.to_dataset()
    out: dict[str, Any] = {}
    try:
        out["adaptation"] = json.loads(node.attrs["inference_library_settings"])["adaptation"]
    except (KeyError, TypeError, ValueError):
        pass  # not nutpie, or a version that does not record it
    for name, key in (("n_steps", "mean_leapfrog_steps"), ("depth", "mean_tree_depth")):
        if name in stats:
            out[key] = float(stats[name].mean())
    if "tree_depth" in stats and "mean_tree_depth" not in out:
        out["mean_tree_depth"] = float(stats["tree_depth"].mean())
    return out


def min_bulk_ess(posterior: Any) -> float:
    """Smallest finite bulk ESS over every posterior variable (``arviz_stats.ess``)."""
    import arviz_stats as azs

    ess = azs.ess(posterior, method="bulk")
    values = np.concatenate([np.ravel(v.values) for v in ess.data_vars.values()])
    values = values[np.isfinite(values)]
    return float(values.min()) if values.size else float("nan")


# -- output ------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> str:
    """Plain-text table with right-aligned numbers.

    Parameters
    ----------
    headers
        Column names.
    rows
        Cell values; floats get 4 significant digits, None prints as ``-``.
    title
        Optional underlined title.

    Returns
    -------
    str
        The table.
    """
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(values, widths, strict=True)
        ).rstrip()

    out = [title, "=" * len(title)] if title else []
    out += [line(list(headers)), line(["-" * w for w in widths])]
    out += [line(row) for row in cells]
    return "\n".join(out)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        value = float(value)
        if not np.isfinite(value):
            return str(value)
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.3g}"
        return f"{value:.4g}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def header(name: str, quick: bool) -> str:
    """Banner printed before a benchmark's tables."""
    env = environment()
    versions = ", ".join(f"{k} {v}" for k, v in env["packages"].items() if v)
    mode = "quick" if quick else "full"
    return (
        f"\n### {name} ({mode} mode) — {env['date']}\n"
        f"machine: {env['nproc']} cores, {env['cpu_model']}; {versions}\n"
    )


def progress(message: str) -> None:
    """One progress line on stderr (stdout carries the tables), with the wall-clock time."""
    print(f"[{datetime.now(UTC).strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- regression checks (``python -m benchmarks --check``) ---------------------------------------


@dataclass(frozen=True)
class Check:
    """One documented bound on a benchmark figure; ``python -m benchmarks --check`` enforces it.

    ``limit`` is an upper bound (``measured <= bound``) or a lower bound (``measured >= bound``).
    A missing or non-finite measurement fails: a benchmark that could not measure is not a pass.
    """

    benchmark: str
    name: str
    measured: float | None
    bound: float
    limit: Literal["upper", "lower"] = "upper"
    why: str = ""

    @property
    def passed(self) -> bool:
        """Whether the measurement is present, finite and within the bound."""
        if self.measured is None or not np.isfinite(self.measured):
            return False
        if self.limit == "upper":
            return self.measured <= self.bound
        return self.measured >= self.bound

    def to_dict(self) -> dict[str, Any]:
        """JSON form, with the verdict."""
        return {**asdict(self), "passed": self.passed}


def checks_table(checks: Sequence[Check]) -> str:
    """The checks as a plain-text table, one row per bound."""
    rows = [
        [
            c.benchmark,
            c.name,
            c.measured,
            ("<= " if c.limit == "upper" else ">= ") + _cell(float(c.bound)),
            "pass" if c.passed else "FAIL",
        ]
        for c in checks
    ]
    headers = ["benchmark", "check", "measured", "bound", "verdict"]
    return table(headers, rows, "\nRegression checks")


DIAGNOSTIC_FIGURES = (
    "r_hat_max",
    "ess_bulk_min",
    "ess_tail_min",
    "divergences",
    "bfmi_min",
    "converged",
)


def diagnostics_record(d: Diagnostics, *extra: str) -> dict[str, Any]:
    """A fit's convergence figures as a benchmark JSON records them (``extra``: more of them),
    then its warning codes."""
    return {name: getattr(d, name) for name in (*DIAGNOSTIC_FIGURES, *extra)} | {
        "warnings": [w.code for w in d.warnings]
    }
