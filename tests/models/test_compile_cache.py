"""The compiled-model cache reads its size from the environment when used, not at import."""

from __future__ import annotations

import models
from models.sampling import CACHE_SIZE_ENV, DEFAULT_CACHE_SIZE, CompileCache


def test_process_cache_follows_the_environment_set_after_import(monkeypatch):
    monkeypatch.delenv(CACHE_SIZE_ENV, raising=False)
    assert models.COMPILE_CACHE.size == DEFAULT_CACHE_SIZE
    monkeypatch.setenv(CACHE_SIZE_ENV, "3")
    assert models.COMPILE_CACHE.size == 3 and CompileCache().size == 3


def test_a_size_given_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv(CACHE_SIZE_ENV, "3")
    cache = CompileCache(5)
    assert cache.size == 5
    cache.size = 7
    assert cache.size == 7
