"""Slow tier: the README gallery from real NUTS fits (what ``python -m plots.gallery`` writes)."""

import pytest

from plots.gallery import build

README_LIMIT = 150_000  # bytes per image in docs/images


@pytest.mark.slow
def test_gallery_writes_one_small_png_per_kind(tmp_path):
    kinds = ["fit", "iso_loss", "trace", "frontier"]
    sizes = build(tmp_path / "images", kinds, cache=tmp_path / "fits")
    for kind in kinds:
        data = (tmp_path / "images" / f"{kind}.png").read_bytes()
        assert data.startswith(b"\x89PNG") and 5_000 < len(data) == sizes[kind] < README_LIMIT
    # the cached fits are reused: a second build draws the same images without sampling
    again = build(tmp_path / "again", ["fit"], cache=tmp_path / "fits")
    assert again["fit"] == sizes["fit"]
