"""Persisted fits: one netCDF DataTree per fit, self-describing, never pickle.

Groups: ``posterior`` (model units), ``sample_stats``, ``observed_data`` (the exact observations
used). Root attrs (JSON strings): format version, family and options, model config (pooling,
priors, likelihood), scales, sampler settings, diagnostics, package versions, a data hash and a
config hash. ``load_fit`` refuses files of another format version, an unknown family, or a
config hash that does not match the stored config.
"""

from __future__ import annotations

import hashlib
import io
import json
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from models.auto import combine
from models.config import resolve_config
from models.data import Scales, ScalingData
from models.defaults import AUTO
from models.diagnostics import Diagnostics
from models.discrepancy import Discrepancy
from models.errors import BayescaleError, IncompatibleFitError
from models.families import get_family
from models.priors import canonical_json
from models.result import Fit
from models.sampling import SamplerSettings
from models.stacking import Stacked

FORMAT_VERSION = 1
_PACKAGES = ("bayescale", "pymc", "pytensor", "nutpie", "arviz", "numpy", "xarray")


def fit_to_tree(fit: Fit) -> xr.DataTree:
    """The DataTree that :func:`save_fit` writes (a stacked fit: one child tree per member)."""
    if fit.members:
        assert fit.weights is not None and fit.stacking is not None
        root = xr.DataTree()
        root.children = {f"member_{i}": fit_to_tree(m) for i, m in enumerate(fit.members)}
        root.attrs = {
            "bayescale_format": FORMAT_VERSION,
            "family": AUTO,
            "stacked": canonical_json(
                {
                    "weights": [float(w) for w in fit.weights],
                    "compute_k": fit.family.compute_k if isinstance(fit.family, Stacked) else None,
                    "settings": fit.settings.to_dict(),
                }
            ),
            "stacking": json.dumps(fit.stacking),
            "created_at": fit.created_at,
        }
        return root
    stats = fit.trace["sample_stats"].to_dataset()
    stats = stats[[n for n, v in stats.data_vars.items() if v.dtype != object]]
    frame = fit.data.to_frame()
    observed = xr.Dataset({c: ("obs", _column(frame, c)) for c in frame.columns})
    config_json = fit.config.to_json()
    attrs = {
        "bayescale_format": FORMAT_VERSION,
        "family": fit.family.name,
        "config": canonical_json(config_json),
        "config_hash": _config_hash(config_json),
        "scales": canonical_json(fit.scales.to_dict()),
        "settings": canonical_json(fit.settings.to_dict()),
        "diagnostics": json.dumps(fit.diagnostics.to_dict()),
        "versions": canonical_json(_versions()),
        "data_hash": fit.data.digest(),
        "created_at": fit.created_at,
    }
    if fit.discrepancy is not None:
        attrs["discrepancy"] = json.dumps(fit.discrepancy.to_dict())
    if fit.stacking is not None:
        attrs["stacking"] = json.dumps(fit.stacking)
    tree = xr.DataTree.from_dict(
        {"posterior": fit.posterior, "sample_stats": stats, "observed_data": observed}
    )
    tree.attrs = attrs
    return tree


def save_fit(fit: Fit, path: str | Path) -> Path:
    """Write ``fit`` to ``path`` (netCDF4 via h5netcdf)."""
    path = Path(path)
    fit_to_tree(fit).to_netcdf(path, engine="h5netcdf")
    return path


def fit_to_bytes(fit: Fit) -> bytes:
    """The same file as bytes (for a database column)."""
    buffer = io.BytesIO()
    fit_to_tree(fit).to_netcdf(buffer, engine="h5netcdf")
    return buffer.getvalue()


def load_fit(source: str | Path | bytes) -> Fit:
    """Load a fit written by :func:`save_fit` (a path) or :func:`fit_to_bytes` (bytes)."""
    try:
        handle: Any = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
        where = "bytes" if isinstance(source, bytes) else str(source)
        tree = xr.open_datatree(handle, engine="h5netcdf").load()
    except FileNotFoundError:
        raise IncompatibleFitError(f"no such fit file: {where}", field="path") from None
    except (OSError, ValueError) as exc:
        raise IncompatibleFitError(f"not a bayescale fit file: {exc}", field="path") from None
    return tree_to_fit(tree)


def tree_to_fit(tree: xr.DataTree) -> Fit:
    """Rebuild a :class:`Fit` from its DataTree, refusing anything incompatible."""
    attrs = tree.attrs
    version = attrs.get("bayescale_format")
    if version is None:
        raise IncompatibleFitError("not a bayescale fit (no bayescale_format attribute)")
    if int(version) != FORMAT_VERSION:
        raise IncompatibleFitError(
            f"fit format {version} is not supported (this version reads {FORMAT_VERSION})"
        )
    if "stacked" in attrs:
        return _tree_to_stacked(tree)
    missing = {"posterior", "sample_stats", "observed_data"} - set(tree.children)
    if missing:
        raise IncompatibleFitError(f"fit file lacks group(s) {', '.join(sorted(missing))}")
    config_json = json.loads(attrs["config"])
    if _config_hash(config_json) != attrs.get("config_hash"):
        raise IncompatibleFitError("fit file config does not match its config hash")
    try:
        family = get_family(config_json["family"], **config_json["family_options"])
        config, _ = resolve_config(
            family,
            config_json["n_groups"],
            pooling=config_json["pooling"],
            priors=config_json["priors"],
            likelihood=config_json["likelihood"],
            n_runs=config_json.get("n_runs", 0),
            # Fits stored before models.pivot were sampled in the natural coordinates.
            parametrisation=config_json.get("parametrisation", "natural"),
        )
    except BayescaleError as exc:
        raise IncompatibleFitError(f"fit file config is not valid here: {exc}") from None
    observed = tree["observed_data"].to_dataset()
    labels = ("loss", "group", "run")
    inputs = {str(n): observed[n].values for n in observed.data_vars if n not in labels}
    run = None
    if "run" in observed:  # "" marks a row of no run (an empty run name is invalid data)
        run = [str(r) or None for r in observed["run"].values.astype(str)]
    data = ScalingData(
        inputs, observed["loss"].values, observed["group"].values.astype(str), run=run
    )
    if data.digest() != attrs.get("data_hash"):
        raise IncompatibleFitError("observed data does not match the stored data hash")
    settings = SamplerSettings(**json.loads(attrs["settings"]))
    trace = xr.DataTree.from_dict(
        {
            "posterior": tree["posterior"].to_dataset(),
            "sample_stats": tree["sample_stats"].to_dataset(),
        }
    )
    result = Fit(
        family=family,
        config=config,
        scales=Scales.from_dict(json.loads(attrs["scales"])),
        settings=settings,
        trace=trace,
        data=data,
        diagnostics=Diagnostics.from_dict(json.loads(attrs["diagnostics"])),
        created_at=str(attrs.get("created_at", "")),
    )
    if "discrepancy" in attrs:
        result.discrepancy = Discrepancy.from_dict(json.loads(attrs["discrepancy"]))
    if "stacking" in attrs:
        result.stacking = json.loads(attrs["stacking"])
    return result


def _tree_to_stacked(tree: xr.DataTree) -> Fit:
    """Rebuild a stacked fit from its members (the mixture's draws are re-made from the seed)."""
    stacked = json.loads(tree.attrs["stacked"])
    names = sorted((n for n in tree.children if n.startswith("member_")), key=lambda n: int(n[7:]))
    if len(names) != len(stacked["weights"]) or not names:
        raise IncompatibleFitError("stacked fit file: members do not match their weights")
    members = [tree_to_fit(tree[n]) for n in names]
    result = combine(
        members,
        np.asarray(stacked["weights"], dtype=float),
        members[0].data,
        stacked["compute_k"],
        SamplerSettings(**stacked["settings"]),
    )
    result.stacking = json.loads(tree.attrs["stacking"])
    result.created_at = str(tree.attrs.get("created_at", ""))
    return result


def _column(frame: Any, name: str) -> Any:
    """An observed column as netCDF can hold it: labels as text, a row of no run as ""."""
    if name == "run":
        return frame[name].fillna("").to_numpy(dtype=str)
    return frame[name].to_numpy(dtype=str if name == "group" else float)


def _config_hash(config_json: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(config_json).encode()).hexdigest()


def _versions() -> dict[str, str]:
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out
