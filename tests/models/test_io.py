import json

import numpy as np
import pytest
import xarray as xr

import models
from models import IncompatibleFitError
from models.io import fit_to_tree, tree_to_fit
from tests.utils import fake_fit

POINTS = {"params": [1e9, 1e10], "data": [2e10, 2e11]}


@pytest.fixture(scope="module")
def fit():
    return fake_fit(
        truth={"E": [1.7, 1.9], "A": 480.0, "B": 2000.0, "alpha": 0.34, "beta": 0.36},
        groups=["x", "y"],
        pooling={"A": "independent"},
    )


def test_file_round_trip_preserves_everything(fit, tmp_path):
    """A saved fit predicts and summarises exactly as the original."""
    path = models.save_fit(fit, tmp_path / "fit.nc")
    loaded = models.load_fit(path)
    assert loaded.config.structure_key == fit.config.structure_key
    assert loaded.config.pooling == fit.config.pooling
    assert loaded.groups == fit.groups
    assert loaded.scales == fit.scales
    assert loaded.settings == fit.settings
    assert loaded.diagnostics == fit.diagnostics
    assert loaded.data.digest() == fit.data.digest()
    assert loaded.summary().equals(fit.summary())
    a = fit.predict(POINTS, group="x").to_frame()
    b = loaded.predict(POINTS, group="x").to_frame()
    assert a.equals(b)


def test_bytes_round_trip(fit):
    """The database stores fits as bytes in the same format."""
    blob = models.fit_to_bytes(fit)
    assert blob[:8] == b"\x89HDF\r\n\x1a\n"
    loaded = models.load_fit(blob)
    np.testing.assert_array_equal(loaded.draws["E"], fit.draws["E"])


def test_attrs_describe_the_fit(fit):
    attrs = fit_to_tree(fit).attrs
    assert attrs["family"] == "chinchilla" and attrs["bayescale_format"] == 1
    versions = json.loads(attrs["versions"])
    assert {"pymc", "nutpie", "arviz", "numpy"} <= set(versions)
    config = json.loads(attrs["config"])
    assert config["priors"]["A"]["dist"] == "LogNormal"  # independent: a flat prior
    assert set(config["priors"]["E"]) == {"mu", "sigma"}  # partial: a population prior
    assert len(attrs["data_hash"]) == 64 and len(attrs["config_hash"]) == 64


def _tampered(fit, **attrs) -> xr.DataTree:
    tree = fit_to_tree(fit)
    tree.attrs = {**tree.attrs, **attrs}
    return tree


class TestRefusals:
    def test_missing_file(self, tmp_path):
        with pytest.raises(IncompatibleFitError, match="no such fit file"):
            models.load_fit(tmp_path / "nope.nc")

    def test_not_a_netcdf_file(self, tmp_path):
        path = tmp_path / "junk.nc"
        path.write_text("hello")
        with pytest.raises(IncompatibleFitError, match="not a bayescale fit file"):
            models.load_fit(path)

    def test_other_format_version(self, fit):
        with pytest.raises(IncompatibleFitError, match="format 99 is not supported"):
            tree_to_fit(_tampered(fit, bayescale_format=99))

    def test_netcdf_without_bayescale_attrs(self, tmp_path):
        path = tmp_path / "plain.nc"
        xr.Dataset({"a": ("x", [1.0])}).to_netcdf(path, engine="h5netcdf")
        with pytest.raises(IncompatibleFitError, match="no bayescale_format"):
            models.load_fit(path)

    def test_config_hash_mismatch(self, fit):
        config = json.loads(fit_to_tree(fit).attrs["config"])
        config["likelihood"] = "student_t"
        tree = _tampered(fit, config=json.dumps(config))
        with pytest.raises(IncompatibleFitError, match="config hash"):
            tree_to_fit(tree)

    def test_unknown_family(self, fit):
        import hashlib

        from models.priors import canonical_json

        config = json.loads(fit_to_tree(fit).attrs["config"])
        config["family"] = "no_such_law"
        tree = _tampered(
            fit,
            config=canonical_json(config),
            config_hash=hashlib.sha256(canonical_json(config).encode()).hexdigest(),
        )
        with pytest.raises(IncompatibleFitError, match="unknown family 'no_such_law'"):
            tree_to_fit(tree)

    def test_data_hash_mismatch(self, fit):
        with pytest.raises(IncompatibleFitError, match="data hash"):
            tree_to_fit(_tampered(fit, data_hash="0" * 64))


def test_a_fit_stored_with_the_old_centred_flag_still_loads(fit):
    """Fits of 2026-12-05 stored ``"centred": true`` (one form for all parameters); the flag
    only named the coordinates NUTS moved in, so such a fit loads as the same model."""
    from models.io import _config_hash

    config_json = {**json.loads(fit_to_tree(fit).attrs["config"]), "centred": True}
    tree = _tampered(fit, config=json.dumps(config_json), config_hash=_config_hash(config_json))
    loaded = tree_to_fit(tree)
    assert loaded.config.to_json() == fit.config.to_json()
