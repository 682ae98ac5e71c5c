"""bayescale's modelling library: hierarchical Bayesian scaling-law fits.

Pure modelling: it never imports the web or database stack. Typical use::

    import models
    data = models.ScalingData.from_csv("runs.csv", {"loss": "final_loss"}, group_col="arch")
    fit = models.fit(data, settings=models.SamplerSettings(seed=1))  # family "auto"
    print(fit.summary(), fit.diagnostics.converged, fit.stacking)
    fit.predict({"params": [7e10], "data": [1.4e12]}).to_frame()
    models.save_fit(fit, "fit.nc"); same = models.load_fit("fit.nc")

Names are imported on first use (PEP 562): ``import models`` costs no pandas, xarray or scipy,
so a CLI command that only parses its arguments stays instant; PyMC, PyTensor and nutpie are
imported only inside the functions that build or sample.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.auto import describe_auto, fit, fit_auto
    from models.auto import validate as validate_fit
    from models.backtesting import Backtest, Score, backtest, holdout_split
    from models.build import prepare
    from models.data import (
        COUNT_INPUTS,
        DEFAULT_GROUP,
        INPUTS,
        Scales,
        ScalingData,
        csv_delimiter,
        guess_columns,
        header_hint,
        parse_count,
        pooled_columns,
        read_csv,
        unmarked_checkpoints,
        unused_columns,
    )
    from models.defaults import AUTO, DEFAULT_FAMILY, DEFAULT_LIKELIHOOD, DEFAULT_MAX_PER_RUN
    from models.diagnostics import Diagnostics, FitWarning, Thresholds, pointwise_loo
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
    from models.families import REGISTRY, ScalingLaw, get_family, list_families
    from models.families.scale_time import iso_loss, peak_size
    from models.fitting import fit as fit_family
    from models.fitting import log_likelihood_chunks, pointwise_log_likelihood
    from models.io import fit_to_bytes, load_fit, save_fit
    from models.peaks import Peak, curve_peak
    from models.planning import (
        ComputePlan,
        GroupComparison,
        Suggestion,
        TargetCompute,
        TargetProbability,
        TimeTradeoff,
        allocation_problem,
        compare_groups,
        compute_for_target,
        compute_optimal,
        plan,
        probability_below,
        scale_time_tradeoff,
        suggest,
    )
    from models.posterior import group_draws
    from models.predict import Prediction, check_probs, interval_tag
    from models.priors import HyperPrior, PriorSpec
    from models.result import Fit
    from models.sampling import COMPILE_CACHE, SamplerSettings

    # exported as simulate_data: the name simulate would hide the module models.simulate
    from models.simulate import SCALE_TIME_EXAMPLE, example_dataset
    from models.simulate import simulate as simulate_data
    from models.spec import FitSpec

# Public name -> (module, attribute), imported on first use.
_LAZY: dict[str, tuple[str, str]] = {
    "guess_columns": ("models.data", "guess_columns"),
    "unused_columns": ("models.data", "unused_columns"),
    "pooled_columns": ("models.data", "pooled_columns"),
    "parse_count": ("models.data", "parse_count"),
    "header_hint": ("models.data", "header_hint"),
    "csv_delimiter": ("models.data", "csv_delimiter"),
    "read_csv": ("models.data", "read_csv"),
    "unmarked_checkpoints": ("models.data", "unmarked_checkpoints"),
    "COUNT_INPUTS": ("models.data", "COUNT_INPUTS"),
    "allocation_problem": ("models.planning", "allocation_problem"),
    "DEFAULT_MAX_PER_RUN": ("models.defaults", "DEFAULT_MAX_PER_RUN"),
    "describe_auto": ("models.auto", "describe_auto"),
    "fit": ("models.auto", "fit"),
    "fit_auto": ("models.auto", "fit_auto"),
    "validate_fit": ("models.auto", "validate"),
    "Backtest": ("models.backtesting", "Backtest"),
    "Score": ("models.backtesting", "Score"),
    "backtest": ("models.backtesting", "backtest"),
    "holdout_split": ("models.backtesting", "holdout_split"),
    "prepare": ("models.build", "prepare"),
    "DEFAULT_LIKELIHOOD": ("models.defaults", "DEFAULT_LIKELIHOOD"),
    "DEFAULT_GROUP": ("models.data", "DEFAULT_GROUP"),
    "INPUTS": ("models.data", "INPUTS"),
    "Scales": ("models.data", "Scales"),
    "ScalingData": ("models.data", "ScalingData"),
    "Diagnostics": ("models.diagnostics", "Diagnostics"),
    "FitWarning": ("models.diagnostics", "FitWarning"),
    "Thresholds": ("models.diagnostics", "Thresholds"),
    "BayescaleError": ("models.errors", "BayescaleError"),
    "DataError": ("models.errors", "DataError"),
    "FamilyError": ("models.errors", "FamilyError"),
    "FitTimeoutError": ("models.errors", "FitTimeoutError"),
    "IncompatibleFitError": ("models.errors", "IncompatibleFitError"),
    "PredictionError": ("models.errors", "PredictionError"),
    "PriorError": ("models.errors", "PriorError"),
    "SettingsError": ("models.errors", "SettingsError"),
    "REGISTRY": ("models.families", "REGISTRY"),
    "ScalingLaw": ("models.families", "ScalingLaw"),
    "get_family": ("models.families", "get_family"),
    "list_families": ("models.families", "list_families"),
    "iso_loss": ("models.families.scale_time", "iso_loss"),
    "peak_size": ("models.families.scale_time", "peak_size"),
    "fit_family": ("models.fitting", "fit"),
    "pointwise_log_likelihood": ("models.fitting", "pointwise_log_likelihood"),
    "log_likelihood_chunks": ("models.fitting", "log_likelihood_chunks"),
    "pointwise_loo": ("models.diagnostics", "pointwise_loo"),
    "fit_to_bytes": ("models.io", "fit_to_bytes"),
    "load_fit": ("models.io", "load_fit"),
    "save_fit": ("models.io", "save_fit"),
    "ComputePlan": ("models.planning", "ComputePlan"),
    "GroupComparison": ("models.planning", "GroupComparison"),
    "Suggestion": ("models.planning", "Suggestion"),
    "TargetCompute": ("models.planning", "TargetCompute"),
    "TargetProbability": ("models.planning", "TargetProbability"),
    "TimeTradeoff": ("models.planning", "TimeTradeoff"),
    "compare_groups": ("models.planning", "compare_groups"),
    "compute_for_target": ("models.planning", "compute_for_target"),
    "compute_optimal": ("models.planning", "compute_optimal"),
    "plan": ("models.planning", "plan"),
    "probability_below": ("models.planning", "probability_below"),
    "scale_time_tradeoff": ("models.planning", "scale_time_tradeoff"),
    "suggest": ("models.planning", "suggest"),
    "Peak": ("models.peaks", "Peak"),
    "curve_peak": ("models.peaks", "curve_peak"),
    "group_draws": ("models.posterior", "group_draws"),
    "Prediction": ("models.predict", "Prediction"),
    "check_probs": ("models.predict", "check_probs"),
    "interval_tag": ("models.predict", "interval_tag"),
    "HyperPrior": ("models.priors", "HyperPrior"),
    "PriorSpec": ("models.priors", "PriorSpec"),
    "Fit": ("models.result", "Fit"),
    "COMPILE_CACHE": ("models.sampling", "COMPILE_CACHE"),
    "SamplerSettings": ("models.sampling", "SamplerSettings"),
    "SCALE_TIME_EXAMPLE": ("models.simulate", "SCALE_TIME_EXAMPLE"),
    "example_dataset": ("models.simulate", "example_dataset"),
    "simulate_data": ("models.simulate", "simulate"),
    "AUTO": ("models.defaults", "AUTO"),
    "DEFAULT_FAMILY": ("models.defaults", "DEFAULT_FAMILY"),
    "FitSpec": ("models.spec", "FitSpec"),
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
    module, attr = _LAZY[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "AUTO",
    "COMPILE_CACHE",
    "COUNT_INPUTS",
    "DEFAULT_FAMILY",
    "DEFAULT_GROUP",
    "DEFAULT_LIKELIHOOD",
    "DEFAULT_MAX_PER_RUN",
    "INPUTS",
    "REGISTRY",
    "SCALE_TIME_EXAMPLE",
    "Backtest",
    "BayescaleError",
    "ComputePlan",
    "DataError",
    "Diagnostics",
    "FamilyError",
    "Fit",
    "FitSpec",
    "FitTimeoutError",
    "FitWarning",
    "GroupComparison",
    "HyperPrior",
    "IncompatibleFitError",
    "Peak",
    "Prediction",
    "PredictionError",
    "PriorError",
    "PriorSpec",
    "SamplerSettings",
    "Scales",
    "ScalingData",
    "ScalingLaw",
    "Score",
    "SettingsError",
    "Suggestion",
    "TargetCompute",
    "TargetProbability",
    "Thresholds",
    "TimeTradeoff",
    "allocation_problem",
    "backtest",
    "check_probs",
    "compare_groups",
    "compute_for_target",
    "compute_optimal",
    "csv_delimiter",
    "curve_peak",
    "describe_auto",
    "example_dataset",
    "fit",
    "fit_auto",
    "fit_family",
    "fit_to_bytes",
    "get_family",
    "group_draws",
    "guess_columns",
    "header_hint",
    "holdout_split",
    "interval_tag",
    "iso_loss",
    "list_families",
    "load_fit",
    "log_likelihood_chunks",
    "parse_count",
    "peak_size",
    "plan",
    "pointwise_log_likelihood",
    "pointwise_loo",
    "pooled_columns",
    "prepare",
    "probability_below",
    "read_csv",
    "save_fit",
    "scale_time_tradeoff",
    "simulate_data",
    "suggest",
    "unmarked_checkpoints",
    "unused_columns",
    "validate_fit",
]
