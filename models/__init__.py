"""bayescale's modelling library: hierarchical Bayesian scaling-law fits.

Pure modelling: it never imports the web or database stack. Typical use::

    import models
    data = models.ScalingData.from_csv("runs.csv", {"loss": "final_loss"}, group_col="arch")
    fit = models.fit(data, settings=models.SamplerSettings(seed=1))  # family "auto"
    print(fit.summary(), fit.diagnostics.converged)
    fit.predict({"params": [7e10], "data": [1.4e12]}).to_frame()
    models.save_fit(fit, "fit.nc"); same = models.load_fit("fit.nc")
"""

from models.auto import describe_auto, fit, fit_auto
from models.auto import validate as validate_fit
from models.backtesting import Backtest, Score, backtest, holdout_split
from models.build import prepare
from models.config import DEFAULT_LIKELIHOOD
from models.data import DEFAULT_GROUP, INPUTS, Scales, ScalingData
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
from models.families import REGISTRY, ScalingLaw, get_family, list_families
from models.families.scale_time import iso_loss, peak_size
from models.fitting import fit as fit_family
from models.fitting import pointwise_log_likelihood
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
from models.posterior import group_draws
from models.predict import Prediction, check_probs, interval_tag
from models.priors import HyperPrior, PriorSpec
from models.result import Fit
from models.sampling import COMPILE_CACHE, SamplerSettings

# exported as simulate_data: the name simulate would hide the module models.simulate
from models.simulate import SCALE_TIME_EXAMPLE, example_dataset
from models.simulate import simulate as simulate_data
from models.spec import AUTO, DEFAULT_FAMILY, FitSpec

__all__ = [
    "AUTO",
    "COMPILE_CACHE",
    "DEFAULT_FAMILY",
    "DEFAULT_GROUP",
    "DEFAULT_LIKELIHOOD",
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
    "backtest",
    "check_probs",
    "compare_groups",
    "compute_for_target",
    "compute_optimal",
    "describe_auto",
    "example_dataset",
    "fit",
    "fit_auto",
    "fit_family",
    "fit_to_bytes",
    "get_family",
    "group_draws",
    "holdout_split",
    "interval_tag",
    "iso_loss",
    "list_families",
    "load_fit",
    "peak_size",
    "plan",
    "pointwise_log_likelihood",
    "prepare",
    "probability_below",
    "save_fit",
    "scale_time_tradeoff",
    "simulate_data",
    "suggest",
    "validate_fit",
]
