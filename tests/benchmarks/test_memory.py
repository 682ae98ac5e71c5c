"""Memory benchmark: the worker code path with NUTS mocked, RSS parsing, growth and its bounds."""

from __future__ import annotations

import pytest

from benchmarks import memory

TINY = {"draws": 20, "tune": 10, "chains": 2, "target_accept": 0.9, "seed": 0}


def records(rss: list[float]) -> list[dict]:
    return [
        {"fit": i, "status": "succeeded", "VmRSS": v, "VmHWM": max(rss[:i]), "wall_s": 1.0}
        for i, v in enumerate(rss, 1)
    ]


def test_read_status_parses_rss_and_peak_in_mb(tmp_path) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t4\n")
    assert memory.read_status(status) == {"VmHWM": 200.0, "VmRSS": 100.0}
    assert memory.read_status()["VmRSS"] > 10  # this process, from /proc/self/status


def test_worker_fits_run_the_service_job_path(mock_sampler, tmp_path) -> None:
    """Each fit is a queued job claimed and run by service.jobs, stored in the database."""
    out = list(memory.worker_fits(3, TINY, tmp_path))
    assert [r["fit"] for r in out] == [1, 2, 3]
    assert {r["status"] for r in out} == {"succeeded"}, [r["error"] for r in out]
    assert all(r["VmRSS"] > 0 and r["VmHWM"] >= r["VmRSS"] for r in out)
    assert (tmp_path / "memory.db").stat().st_size > 0


def test_growth_excludes_warmup_and_fits_a_slope() -> None:
    rss = [300.0, 400.0, 410.0, 412.0, 414.0, 416.0]  # the first fits reach the working size
    s = memory.growth(records(rss), warmup=3)
    assert s["window"] == [3, 6]
    assert s["growth_mb"] == pytest.approx(6.0)
    assert s["slope_mb_per_fit"] == pytest.approx(2.0)
    assert s["peak_rss_mb"] == 416.0 and s["rss_first_mb"] == 300.0
    with pytest.raises(ValueError, match="warmup 9 leaves no fit"):
        memory.growth(records(rss), warmup=9)


@pytest.mark.parametrize(
    ("step", "verdicts"),
    [(0.5, [True, True, True]), (3.0, [True, False, True]), (20.0, [False, False, True])],
)
def test_checks_fail_on_a_leak(step: float, verdicts: list[bool]) -> None:
    rss = [400.0 + step * i for i in range(10)]
    result = {"summary": memory.growth(records(rss), warmup=3), "failed_fits": []}
    checks = memory.checks(result, quick=True)
    assert [c.passed for c in checks] == verdicts


def test_a_failed_fit_fails_the_check() -> None:
    result = {"summary": memory.growth(records([400.0] * 4), warmup=2), "failed_fits": [3]}
    assert not memory.checks(result, quick=True)[-1].passed


@pytest.mark.slow
def test_worker_subprocess_streams_one_record_per_fit() -> None:
    """Real NUTS in a fresh interpreter: the parent collects every fit's RSS."""
    out = memory.run_worker(2, TINY)
    assert [r["fit"] for r in out] == [1, 2]
    assert {r["status"] for r in out} == {"succeeded"}
    assert out[-1]["compiles"] == 1  # the second fit reused the compiled model
