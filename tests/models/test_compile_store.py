"""Compiled models on disk (models.compile_store): loaded bit-identical, keyed by graph, safe."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

import models
from models import compile_store as store
from models import multistart as ms
from models.build import build_model, prepare
from models.config import resolve_config
from models.simulate import simulate
from tests.utils import CHINCHILLA_TRUTH, chinchilla_inputs


@pytest.fixture(autouse=True)
def fresh_process_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees the store only, as a new process would (the memo is process-wide)."""
    monkeypatch.setattr(store, "_LOADED", {})
    monkeypatch.setattr(store, "COUNTS", store.Counter())


def test_store_dir_default_override_and_off(monkeypatch, tmp_path) -> None:
    import pytensor

    monkeypatch.delenv(store.DIR_ENV, raising=False)
    assert store.store_dir() == Path(pytensor.config.base_compiledir) / "bayescale"
    monkeypatch.setenv(store.DIR_ENV, str(tmp_path))
    assert store.store_dir() == tmp_path
    monkeypatch.setenv(store.DIR_ENV, " OFF ")
    assert store.store_dir() is None


def _fake_callbacks(stored: dict | None = None) -> tuple[store.Callback, store.Callback]:
    return (store.Callback(1, None, (), stored), store.Callback(2, None, (), stored))


def test_with_the_store_off_each_process_compiles_once_and_writes_nothing(
    monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv(store.DIR_ENV, "off")
    monkeypatch.chdir(tmp_path)
    built = []

    def build() -> tuple[store.Callback, store.Callback]:
        built.append(1)
        return _fake_callbacks()

    first = store._callbacks("k" * 40, build)
    again = store._callbacks("k" * 40, build)
    assert len(built) == 1 and again == first
    assert store.COUNTS == {"compiled": 1, "reused": 1}
    assert not list(tmp_path.iterdir())


def test_a_damaged_entry_is_deleted_and_compiled_again_never_loaded(
    monkeypatch, tmp_path, caplog
) -> None:
    monkeypatch.setenv(store.DIR_ENV, str(tmp_path))
    key = "d" * 40
    entry = tmp_path / f"{key}{store.SUFFIX}"
    entry.write_bytes(b"\x00" * 64 + b"not an entry")  # the checksum does not match
    built = []

    def build() -> tuple[store.Callback, store.Callback]:
        built.append(1)
        return _fake_callbacks()  # nothing to store (as with dynamic globals)

    with caplog.at_level(logging.WARNING, logger=store.__name__):
        store._callbacks(key, build)
    assert built == [1] and not entry.exists()
    assert "not loaded (checksum mismatch)" in caplog.text
    assert store.COUNTS == {"compiled": 1}


def _entry(envs: list[dict], blobs: list[bytes]) -> bytes:
    """A well-formed entry (valid checksum and header) holding ``blobs`` for both callbacks."""
    spec = {"library": "lib", "symbol": "f", "envs": envs, "blobs": [len(b) for b in blobs]}
    head = json.dumps({"format": store.FORMAT, "callbacks": [spec, spec]}).encode()
    body = struct.pack(">Q", len(head)) + head + b"".join(blobs * 2)
    return hashlib.sha256(body).digest() + body


@pytest.mark.parametrize(
    "envs",
    [
        [{"name": "_ZN08NumbaEnvX", "module": "os", "consts": []}],  # not numba/PyTensor/nutpie
        [{"name": "_ZN08NumbaEnvY", "module": "numba.core", "consts": [{"pickle": "x"}]}],
    ],
    ids=["module outside the allowed packages", "a constant that is not data"],
)
def test_an_entry_naming_anything_but_data_is_deleted_before_its_code_loads(
    monkeypatch, tmp_path, envs
) -> None:
    monkeypatch.setenv(store.DIR_ENV, str(tmp_path))
    entry = tmp_path / f"e{store.SUFFIX}"
    entry.write_bytes(_entry(envs, [b"object", b"bitcode"]))
    assert store._load(entry) is None
    assert not entry.exists()


def test_an_entry_with_code_llvm_cannot_read_is_deleted(monkeypatch, tmp_path) -> None:
    entry = tmp_path / f"e{store.SUFFIX}"
    entry.write_bytes(_entry([], [b"\x7fELF garbage", b"BC\xc0\xde garbage"]))
    assert store._load(entry) is None
    assert not entry.exists()


def test_the_least_recently_used_entries_beyond_the_cap_are_deleted(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(store, "MAX_ENTRIES", 3)
    for age in range(5):
        path = tmp_path / f"{age}{store.SUFFIX}"
        path.write_bytes(b"x")
        os.utime(path, (1000 - age, 1000 - age))  # 0.pkl is the newest
    (tmp_path / "other.txt").write_text("not an entry")
    store._prune(tmp_path)
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == [f"{i}{store.SUFFIX}" for i in range(3)] + ["other.txt"]


def _model(priors: dict | None = None, seed: int = 3):  # type: ignore[no-untyped-def]
    fam = models.get_family("chinchilla")
    data = simulate(fam, CHINCHILLA_TRUTH, chinchilla_inputs(20, seed), noise=0.02, seed=seed)
    config, _ = resolve_config(fam, 1, priors=priors)
    md = prepare(data, fam.inputs, data.default_scales(fam.inputs))
    return build_model(config, md)


def _density_at(compiled, points: np.ndarray) -> list[tuple[float, np.ndarray]]:  # type: ignore[no-untyped-def]
    density = ms.log_density(compiled)
    return [density(x) for x in points]


def _assert_bit_identical(want: list, got: list) -> None:
    for (lp_want, g_want), (lp_got, g_got) in zip(want, got, strict=True):
        assert lp_got == lp_want and np.array_equal(g_got, g_want)


@pytest.mark.slow
def test_a_loaded_model_is_bit_identical_shared_by_data_and_not_by_priors(
    monkeypatch, tmp_path
) -> None:
    """One compile: nutpie's own compile gives the same density bit for bit; the entry it writes
    serves the same structure on other data, bit for bit, and is not used for a model whose
    prior differs (the graph's constants are in the key)."""
    import nutpie
    import pytensor

    monkeypatch.setenv(store.DIR_ENV, str(tmp_path))
    compile_fast = pytensor.config.change_flags(numba__fastmath=False)
    model = _model()
    with compile_fast:
        fresh = store.compile_model(model)
    assert store.COUNTS == {"compiled": 1} and len(list(tmp_path.glob(f"*{store.SUFFIX}"))) == 1
    points = np.random.default_rng(0).normal(scale=0.5, size=(8, fresh.n_dim))
    want = _density_at(fresh, points)
    with compile_fast:  # what this module replaces, on the same model
        _assert_bit_identical(want, _density_at(nutpie.compile_pymc_model(model), points))

    def no_compile(*_: object) -> None:
        raise AssertionError("compiled although the store holds this graph")

    monkeypatch.setattr(store, "_compiled", no_compile)
    monkeypatch.setattr(store, "_LOADED", {})  # as a new process
    other_data = _model(seed=4)
    with compile_fast:
        loaded = store.compile_model(other_data)
    assert store.COUNTS == {"compiled": 1, "loaded": 1}
    # the same data swapped in: every value and gradient bit for bit
    swapped = loaded.with_data(
        **{var.name: fresh.shared_data[key] for var, key in fresh.shared_var_keys.items()}
    )
    _assert_bit_identical(want, _density_at(swapped, points))
    # its own data: another density (the data are not baked into the stored code)
    assert _density_at(loaded, points[:1])[0][0] != want[0][0]

    lognormal = {"dist": "LogNormal", "kwargs": {"mu": 0.5, "sigma": 0.5}}
    other_prior = _model(priors={"E": lognormal})
    with compile_fast, pytest.raises(AssertionError, match="compiled although"):
        store.compile_model(other_prior)


def _storable() -> dict:
    return {"library": "lib", "symbol": "f", "envs": [], "blobs": [b"object", b"bitcode"]}


def test_an_unwritable_store_costs_a_warning_not_the_fit(monkeypatch, tmp_path, caplog) -> None:
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    monkeypatch.setenv(store.DIR_ENV, str(blocked / "store"))  # cannot be created
    with caplog.at_level(logging.WARNING, logger=store.__name__):
        got = store._callbacks("u" * 40, lambda: _fake_callbacks(_storable()))
    assert got[0].address == 1 and got[0].stored is None  # the process keeps no copy of the data
    assert "compiled model not stored" in caplog.text
    assert store.COUNTS == {"compiled": 1}


def test_writers_racing_on_one_entry_leave_one_whole_file(tmp_path) -> None:
    callbacks = _fake_callbacks(_storable())
    threads = [
        threading.Thread(target=store._save, args=(tmp_path, "r" * 40, callbacks)) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.name for p in tmp_path.iterdir()] == [f"{'r' * 40}{store.SUFFIX}"]  # no .tmp left
    blob = (tmp_path / f"{'r' * 40}{store.SUFFIX}").read_bytes()
    assert hashlib.sha256(blob[32:]).digest() == blob[:32]
