"""Simulation-based calibration (Talts et al. 2018, arXiv:1804.06788).

Draw parameters from the family's default priors, simulate data, fit with the same priors, and
record the rank of each true value among the posterior draws. When the fitting machinery is
calibrated the ranks are uniform; a U shape means intervals too narrow, a hump too wide, a slope
a bias. Fits use unit reference scales, so the generating prior and the fitted prior agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from models.config import NOISE_PRIORS
from models.data import Scales
from models.families import ScalingLaw
from models.fitting import fit
from models.sampling import SamplerSettings
from models.simulate import draw_prior, simulate

Design = Callable[[np.random.Generator], Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class SBCResult:
    """Ranks (0..n_ranks) of the true values per parameter, and fit health per simulation."""

    family: str
    ranks: Mapping[str, np.ndarray]
    n_ranks: int
    converged: np.ndarray
    divergences: np.ndarray
    bins: int = 5
    p_values: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from scipy import stats

        for name in self.ranks:
            self.p_values[name] = float(stats.chisquare(self.histogram(name)).pvalue)

    def histogram(self, name: str) -> np.ndarray:
        """Counts of ranks in ``bins`` equal bins."""
        counts: np.ndarray = np.histogram(
            self.ranks[name], bins=self.bins, range=(0, self.n_ranks + 1)
        )[0]
        return counts

    def to_dict(self) -> dict[str, object]:
        """JSON form: per parameter the rank histogram and chi-square p-value."""
        return {
            "family": self.family,
            "simulations": len(self.converged),
            "n_ranks": self.n_ranks,
            "converged": int(self.converged.sum()),
            "divergent_fits": int((self.divergences > 0).sum()),
            "parameters": {
                n: {"histogram": self.histogram(n).tolist(), "p_value": self.p_values[n]}
                for n in self.ranks
            },
        }


def default_design(family: ScalingLaw, n: int = 30) -> Design:
    """Random points spanning two decades around 1 for each input (label noise in [0, 0.3))."""

    def design(rng: np.random.Generator) -> dict[str, np.ndarray]:
        out = {}
        for name in family.inputs:
            if name == "label_noise":
                out[name] = rng.uniform(0.0, 0.3, n)
            else:
                out[name] = np.exp(rng.uniform(np.log(0.1), np.log(10.0), n))
        return out

    return design


def simulation_based_calibration(
    family: ScalingLaw,
    *,
    simulations: int = 20,
    design: Design | None = None,
    settings: SamplerSettings | None = None,
    n_ranks: int = 99,
    seed: int = 0,
) -> SBCResult:
    """Run SBC for ``family`` with its default priors (single group).

    Parameters
    ----------
    family
        The family to check.
    simulations
        Number of simulate-and-fit rounds.
    design
        Draws the inputs of one simulated dataset; default :func:`default_design`.
    settings
        Sampler settings per fit (small is fine: ranks use ``n_ranks`` thinned draws).
    n_ranks
        Posterior draws the truth is ranked among (thinned evenly).
    seed
        Seeds priors, data and sampler.
    """
    design = design or default_design(family)
    settings = settings or SamplerSettings(draws=400, tune=400, chains=2)
    rng = np.random.default_rng(seed)
    unit = Scales(dict.fromkeys(family.inputs, 1.0), 1.0)
    ranks: dict[str, list[int]] = {name: [] for name in (*family.param_names, "sigma")}
    converged, divergences = [], []
    for i in range(simulations):
        truth = {k: float(v[0]) for k, v in draw_prior(family, 1, seed=seed * 1000 + i).items()}
        noise = float(NOISE_PRIORS["sigma"].draw(rng, 1)[0])
        data = simulate(family, truth, design(rng), noise=noise, seed=seed * 1000 + i)
        # the simulator's noise is Normal on log loss: calibrate the model that matches it
        result = fit(
            data,
            family,
            likelihood="normal",
            settings=settings.with_(seed=seed * 1000 + i),
            scales=unit,
        )
        draws = result.draws
        for name, value in (*truth.items(), ("sigma", noise)):
            thinned = _thin(draws[name], n_ranks)
            ranks[name].append(int(np.sum(thinned < value)))
        converged.append(result.diagnostics.converged)
        divergences.append(result.diagnostics.divergences)
    return SBCResult(
        family.key(),
        {k: np.asarray(v) for k, v in ranks.items()},
        n_ranks,
        np.asarray(converged),
        np.asarray(divergences),
    )


def _thin(draws: np.ndarray, n: int) -> np.ndarray:
    idx = np.linspace(0, len(draws) - 1, n).round().astype(int)
    thinned: np.ndarray = draws[idx]
    return thinned
