"""bayescale's modelling library: hierarchical Bayesian scaling-law fits.

Pure modelling: it never imports the web or database stack. Typical use::

    import models
    data = models.ScalingData.from_csv("runs.csv", {"loss": "final_loss"}, group_col="arch")
    fit = models.fit(data, "chinchilla", settings=models.SamplerSettings(seed=1))
    print(fit.summary(), fit.diagnostics.converged)
    fit.predict({"params": [7e10], "data": [1.4e12]}).to_frame()
    fit.save("fit.nc"); same = models.load_fit("fit.nc")
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models import backtest as backtest_module
    from models import fit as fit_module
    from models.backtest import Backtest, Score, backtest
    from models.data import INPUTS, Scales, ScalingData
    from models.diagnostics import Diagnostics, FitWarning, Thresholds
    from models.errors import (
        BayescaleError,
        DataError,
        FamilyError,
        FitTimeoutError,
        IncompatibleFitError,
        PredictionError,
        PriorError,
        SettingsError,
    )
    from models.families import REGISTRY, get_family, list_families
    from models.fit import Fit, fit, validate_fit
    from models.io import fit_to_bytes, load_fit, save_fit
    from models.planning import (
        ComputePlan,
        GroupComparison,
        Suggestion,
        TargetCompute,
        TargetProbability,
        TimeTradeoff,
        compare_groups,
        compute_for_target,
        compute_optimal,
        plan,
        probability_below,
        scale_time_tradeoff,
        suggest,
    )
    from models.predict import Prediction
    from models.priors import HyperPrior, PriorSpec
    from models.sampling import COMPILE_CACHE, SamplerSettings

# Public name -> the module it lives in, imported on first use (PEP 562): ``import models`` costs
# no pandas, xarray or scipy, so a CLI command that only parses its arguments stays instant.
# PyMC, PyTensor and nutpie are imported only inside the functions that build or sample.
_LAZY = {
    "backtest_module": "models.backtest",
    "fit_module": "models.fit",
    **dict.fromkeys(("Backtest", "Score", "backtest"), "models.backtest"),
    **dict.fromkeys(("INPUTS", "Scales", "ScalingData"), "models.data"),
    **dict.fromkeys(("Diagnostics", "FitWarning", "Thresholds"), "models.diagnostics"),
    **dict.fromkeys(
        (
            "BayescaleError",
            "DataError",
            "FamilyError",
            "FitTimeoutError",
            "IncompatibleFitError",
            "PredictionError",
            "PriorError",
            "SettingsError",
        ),
        "models.errors",
    ),
    **dict.fromkeys(("REGISTRY", "get_family", "list_families"), "models.families"),
    **dict.fromkeys(("Fit", "fit", "validate_fit"), "models.fit"),
    **dict.fromkeys(("fit_to_bytes", "load_fit", "save_fit"), "models.io"),
    **dict.fromkeys(
        (
            "ComputePlan",
            "GroupComparison",
            "Suggestion",
            "TargetCompute",
            "TargetProbability",
            "TimeTradeoff",
            "compare_groups",
            "compute_for_target",
            "compute_optimal",
            "plan",
            "probability_below",
            "scale_time_tradeoff",
            "suggest",
        ),
        "models.planning",
    ),
    "Prediction": "models.predict",
    **dict.fromkeys(("HyperPrior", "PriorSpec"), "models.priors"),
    **dict.fromkeys(("COMPILE_CACHE", "SamplerSettings"), "models.sampling"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        # a submodule (models.sampling, models.build, ...): available as an attribute as when
        # this package imported all of them
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
        raise AttributeError(f"module 'models' has no attribute '{name}'")
    module = importlib.import_module(_LAZY[name])
    value = module if name.endswith("_module") else getattr(module, name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """Keeps ``models.fit`` and ``models.backtest`` the functions once their modules load.

    The import system binds a loaded submodule on its package (``models.fit = <module>``); with
    the eager imports this package had, the function import that followed rebound the name.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("fit", "backtest") and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "COMPILE_CACHE",
    "INPUTS",
    "REGISTRY",
    "Backtest",
    "BayescaleError",
    "ComputePlan",
    "DataError",
    "Diagnostics",
    "FamilyError",
    "Fit",
    "FitTimeoutError",
    "FitWarning",
    "GroupComparison",
    "HyperPrior",
    "IncompatibleFitError",
    "Prediction",
    "PredictionError",
    "PriorError",
    "PriorSpec",
    "SamplerSettings",
    "Scales",
    "ScalingData",
    "Score",
    "SettingsError",
    "Suggestion",
    "TargetCompute",
    "TargetProbability",
    "Thresholds",
    "TimeTradeoff",
    "backtest",
    "backtest_module",
    "compare_groups",
    "compute_for_target",
    "compute_optimal",
    "fit",
    "fit_module",
    "fit_to_bytes",
    "get_family",
    "list_families",
    "load_fit",
    "plan",
    "probability_below",
    "save_fit",
    "scale_time_tradeoff",
    "suggest",
    "validate_fit",
]
