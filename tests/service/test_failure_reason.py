"""A fit that fails at run time reports one readable sentence, never the sampler's backtrace."""

from __future__ import annotations

from tests.service.test_fits import run_worker, submit
from tests.utils import replace_sampler

PANIC = (
    "PyO3 panic: called `Result::unwrap()` on an `Err` value: LogpError\n"
    "stack backtrace:\n"
    "   0: rust_begin_unwind\n"
    "   1: core::panicking::panic_fmt\n" + "   9: nutpie::wrapper::sample\n" * 50
)


def test_a_sampler_panic_is_one_sentence_in_error_reason(client, keys, dataset, monkeypatch):
    def panic(*args, **kwargs):
        raise RuntimeError(PANIC)

    replace_sampler(monkeypatch, panic)
    assert submit(client, keys).status_code == 202
    fit_id = run_worker(client)
    fit = client.get(f"/v1/projects/alpha/fits/{fit_id}", headers=keys.headers("read")).json()
    assert fit["status"] == "failed"
    reason = fit["error"]["reason"]
    assert "\n" not in reason and "backtrace" not in reason and len(reason) <= 250, reason
    assert reason.startswith("fit failed: RuntimeError: PyO3 panic: called `Result::unwrap()`")
