"""The loaded-posterior cache is the app's: built in its lifespan, sized by Settings."""

from __future__ import annotations

from fastapi.testclient import TestClient

from service.config import Settings
from service.fit_store import FitCache
from service.main import create_app


def test_each_app_builds_its_own_cache_sized_from_settings(tmp_path):
    small = Settings(data_dir=tmp_path / "a", workers=0, fit_cache_size=2)
    other = Settings(data_dir=tmp_path / "b", workers=0)
    with TestClient(create_app(small)) as a, TestClient(create_app(other)) as b:
        cache_a, cache_b = a.app.state.fit_cache, b.app.state.fit_cache
        assert isinstance(cache_a, FitCache) and cache_a is not cache_b
        assert (cache_a.size, cache_b.size) == (2, 32)


def test_cache_drops_the_least_recently_used_beyond_its_size():
    cache = FitCache(2)
    cache.put("a", "fit a")  # type: ignore[arg-type]
    cache.put("b", "fit b")  # type: ignore[arg-type]
    assert cache.get("a") == "fit a"  # a is now the most recent
    cache.put("c", "fit c")  # type: ignore[arg-type]
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("fit a", None, "fit c")
    cache.pop("a")
    assert cache.get("a") is None
