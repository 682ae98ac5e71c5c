"""The plot registry: kind name -> function, the families it applies to, and its options.

:func:`figure` checks the kind, the family and every option (a :class:`PlotError` naming the
field otherwise) and builds the :class:`~matplotlib.figure.Figure`; :func:`render` turns it into
PNG or SVG bytes. Options arrive typed (Python callers) or as strings (CLI, query strings) and
are parsed here, so every caller gets the same checks and messages.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from matplotlib.figure import Figure

from models import INPUTS, ScalingData
from plots import curves, diagnostics, planning, stacking
from plots import fit as fit_plots
from plots._common import FORMATS, to_bytes
from plots.errors import PlotError

if TYPE_CHECKING:
    from models import Fit

OptionType = Literal["str", "float", "floats", "strs"]
# a list option (budgets, targets, variables) beyond this is no longer a readable plot
MAX_VALUES = 40


@dataclass(frozen=True)
class Option:
    """One option of a kind: its type, what it means, and allowed values for a string."""

    type: OptionType
    help: str
    choices: tuple[str, ...] = ()

    def parse(self, name: str, value: Any) -> Any:
        """The typed value; strings are split on commas for list types."""
        if self.type in ("floats", "strs"):
            items = value.split(",") if isinstance(value, str) else list(value)
            if not items or len(items) > MAX_VALUES:
                raise PlotError(
                    f"option '{name}' takes 1 to {MAX_VALUES} values, not {len(items)}", field=name
                )
            if self.type == "strs":
                return [str(v).strip() for v in items]
            return [_number(name, v) for v in items]
        if self.type == "float":
            return _number(name, value)
        text = str(value)
        if self.choices and text not in self.choices:
            raise PlotError(
                f"option '{name}' must be one of {', '.join(self.choices)}, not '{text}'",
                field=name,
            )
        return text


def _number(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PlotError(f"option '{name}': '{value}' is not a number", field=name) from None
    if not math.isfinite(number) or number <= 0:
        raise PlotError(f"option '{name}' must be a finite positive number", field=name)
    return number


@dataclass(frozen=True)
class PlotKind:
    """A kind of plot: its function, the families it draws (None: all), its options."""

    name: str
    function: Callable[..., Figure]
    description: str
    families: frozenset[str] | None = None
    needs_inputs: frozenset[str] = frozenset()
    options: Mapping[str, Option] = field(default_factory=dict)
    held_out: bool = False

    def check_family(self, fit: Fit) -> None:
        """Refuse a fit this kind does not apply to, naming both."""
        family = fit.family.name
        if self.families is not None and family not in self.families:
            allowed = ", ".join(sorted(self.families))
            if "auto" in self.families and fit.stacking is not None:
                # asked for auto and got one law: the usual message ("needs a auto fit; this
                # fit is 'power_law(x=data)'") would contradict what the user asked for
                raise PlotError(
                    f"plot '{self.name}' needs several stacked laws; family auto kept one law "
                    f"for these data ('{family}'), so there is nothing to draw it against",
                    field="kind",
                )
            raise PlotError(
                f"plot '{self.name}' needs a {allowed} fit; this fit is '{family}'", field="kind"
            )
        missing = sorted(self.needs_inputs - set(fit.family.inputs))
        if missing:
            raise PlotError(
                f"plot '{self.name}' needs input(s) {', '.join(missing)}; family '{family}' "
                f"has {', '.join(fit.family.inputs)}",
                field="kind",
            )


GROUP = Option("str", "a fitted group (default: every group)")
INPUT = Option("str", "the input along the x axis (default: one panel per input)", INPUTS)
BUDGETS = Option("floats", "compute budgets in FLOPs (default: observed range to 1000x)")
K = Option("float", "FLOPs per parameter per token, C = k N D (default 6)")
VAR = Option("strs", "posterior variables (default: one per parameter and sigma)")

KINDS: dict[str, PlotKind] = {
    kind.name: kind
    for kind in (
        PlotKind(
            "fit",
            fit_plots.fit_plot,
            "runs and the posterior median with 50/90 % bands per group, against each input",
            options={
                "input": INPUT,
                "group": GROUP,
                "interval": Option(
                    "str", "band of a new run or of the mean curve", ("new_run", "mean")
                ),
            },
            held_out=True,
        ),
        PlotKind(
            "residuals",
            fit_plots.residuals_plot,
            "log residuals against each input with the fitted noise's ±2σ",
            options={"group": GROUP},
            held_out=True,
        ),
        PlotKind(
            "members",
            stacking.members_plot,
            "a stacked (auto) fit against each of its laws, past the data: the bands widen",
            families=frozenset({"auto"}),
            options={
                "input": INPUT,
                "group": GROUP,
                "extend": Option("float", "draw to this multiple of the largest run (default 10)"),
            },
        ),
        PlotKind(
            "exponents",
            fit_plots.exponents_plot,
            "posterior intervals of every exponent per group and for a new group",
        ),
        PlotKind(
            "prior_posterior",
            fit_plots.prior_posterior_plot,
            "prior against posterior of every parameter (natural units)",
        ),
        PlotKind(
            "double_descent",
            curves.double_descent_plot,
            "loss along the sweep with the posterior of the curve's maximum shaded",
            families=frozenset({"double_descent", "random_features"}),
            options={
                "group": GROUP,
                "at": Option("float", "value of the input held fixed (default: observed median)"),
            },
        ),
        PlotKind(
            "iso_loss",
            curves.iso_loss_plot,
            "lines of equal loss in (model size, training steps)",
            families=frozenset({"scale_time"}),
            options={
                "targets": Option("floats", "target losses (default: 4 in range)"),
                "group": GROUP,
            },
        ),
        PlotKind(
            "frontier",
            planning.frontier_plot,
            "compute-optimal L*(C), N*(C), D*(C) with bands",
            needs_inputs=frozenset({"params", "data"}),
            options={"budgets": BUDGETS, "group": GROUP, "k": K},
        ),
        PlotKind(
            "target_probability",
            planning.target_probability_plot,
            "P(loss < target) against compute at the planned allocation",
            needs_inputs=frozenset({"params", "data"}),
            options={
                "target": Option("float", "target loss (default: the best observed loss)"),
                "budgets": BUDGETS,
                "group": GROUP,
                "k": K,
            },
        ),
        PlotKind(
            "trace", diagnostics.trace_plot, "draws and densities per chain", options={"var": VAR}
        ),
        PlotKind("rank", diagnostics.rank_plot, "rank histograms per chain", options={"var": VAR}),
        PlotKind("energy", diagnostics.energy_plot, "marginal energy vs energy transitions"),
        PlotKind("pareto_k", diagnostics.pareto_k_plot, "PSIS-LOO Pareto k per observation"),
    )
}


def get_kind(kind: str) -> PlotKind:
    """The registered kind (a :class:`PlotError` naming the known ones otherwise)."""
    if kind not in KINDS:
        raise PlotError(f"unknown plot kind '{kind}' (known: {', '.join(KINDS)})", field="kind")
    return KINDS[kind]


# Kinds that read the sampler's own chains (per chain draws, energy, pointwise likelihood).
CHAIN_KINDS = frozenset({"trace", "rank", "energy", "pareto_k"})


def figure(kind: str, fit: Fit, *, held_out: ScalingData | None = None, **options: Any) -> Figure:
    """Check the request and build the figure (inspect it in tests; :func:`render` for bytes).

    ``held_out`` (runs a backtest held out of the fit) is drawn by the kinds that mark them and
    ignored by the others. Options that are None count as not given.
    """
    spec = get_kind(kind)
    spec.check_family(fit)
    if kind in CHAIN_KINDS and fit.members:
        raise PlotError(
            f"plot '{kind}' reads the sampler's chains; a stacked (auto) fit's draws are resampled "
            "from its laws' chains: each law's convergence is in the fit's stacking report",
            field="kind",
        )
    given = {k: v for k, v in options.items() if v is not None}
    unknown = sorted(set(given) - set(spec.options))
    if unknown:
        known = ", ".join(spec.options) or "none"
        raise PlotError(
            f"plot '{kind}' takes no option '{unknown[0]}' (its options: {known})",
            field=unknown[0],
        )
    parsed = {k: spec.options[k].parse(k, v) for k, v in given.items()}
    _check_values(fit, parsed, held_out if spec.held_out else None)
    if spec.held_out:
        parsed["held_out"] = held_out
    return spec.function(fit, **parsed)


def _check_values(fit: Fit, options: Mapping[str, Any], held_out: ScalingData | None) -> None:
    group = options.get("group")
    if group is not None and group not in fit.groups:
        raise PlotError(
            f"no group '{group}' in this fit (groups: {', '.join(fit.groups)})", field="group"
        )
    name = options.get("input")
    if name is not None and name not in fit.family.inputs:
        raise PlotError(
            f"'{name}' is not an input of {fit.family.key()} ({', '.join(fit.family.inputs)})",
            field="input",
        )
    if held_out is not None and set(fit.family.inputs) - set(held_out.inputs):
        raise PlotError("held-out runs lack the family's inputs", field="held_out")


def render(
    kind: str,
    fit: Fit,
    *,
    fmt: str = "png",
    held_out: ScalingData | None = None,
    **options: Any,
) -> bytes:
    """The plot as PNG or SVG bytes (see :func:`figure` for the checks)."""
    if fmt not in FORMATS:
        raise PlotError(f"format must be one of {', '.join(FORMATS)}, not '{fmt}'", field="fmt")
    return to_bytes(figure(kind, fit, held_out=held_out, **options), fmt)


def option_names(kinds: Sequence[PlotKind] | None = None) -> dict[str, Option]:
    """Every option name over the kinds (the CLI and the API offer their union)."""
    out: dict[str, Option] = {}
    for spec in kinds or list(KINDS.values()):
        for name, option in spec.options.items():
            out.setdefault(name, option)
    return out
