"""bayescale's modelling library: hierarchical Bayesian scaling-law fits.

Pure modelling: it never imports the web or database stack. Typical use::

    import models
    data = models.ScalingData.from_csv("runs.csv", {"loss": "final_loss"}, group_col="arch")
    fit = models.fit(data, "chinchilla", settings=models.SamplerSettings(seed=1))
    print(fit.summary(), fit.diagnostics.converged)
    fit.predict({"params": [7e10], "data": [1.4e12]}).to_frame()
    fit.save("fit.nc"); same = models.load_fit("fit.nc")
"""

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
from models.runs import DEFAULT_MAX_PER_RUN
from models.sampling import COMPILE_CACHE, SamplerSettings

__all__ = [
    "COMPILE_CACHE",
    "DEFAULT_MAX_PER_RUN",
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
