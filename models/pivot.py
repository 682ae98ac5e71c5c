r"""Sample a law's floor, amplitudes and exponents in coordinates the data pin one by one.

A law ``L = E + sum_j A_j x_j^-alpha_j`` fitted to inputs scaled by their geometric mean (so
the data sit around ``x = 1``) is pinned by its rows in two combinations long before the floor
is: the **level at the pivot** ``m = E + sum_j A_j`` (the loss at the data's centre) and each
term's **slope there**, ``s_j = alpha_j A_j`` (that is, ``-dL/dlog x_j`` at ``x = 1``). Along
the remaining direction the floor trades against amplitudes and exponents with the curve
unchanged inside the data: on the link (log) scale that is a long, *curved* ridge, ~1,000 times
longer than wide on smooth curves, which a diagonal mass matrix cannot round and NUTS crosses
only with deep trees (BENCHMARKS.md, "Why the many-group broken power law does not mix").

Here the same parameters are sampled as (``k`` terms; all on the log scale)

.. math::

    u = \log m = \operatorname{logsumexp}(e, a_1, \dots, a_k), \qquad
    v = e - \operatorname{logsumexp}(a_1, \dots, a_k), \\
    \rho_j = a_j - a_1 \ (j \ge 2), \qquad
    w_j = \log s_j = \log\alpha_j + a_j,

with ``e = log E``, ``a_j = log A_j``: ``u`` and ``w`` are what the data pin, ``v`` (the log
odds of the floor against the reducible loss at the pivot) is the direction the data leave
free, and ``rho`` splits the reducible loss between the terms. The map is a bijection of
``R^(2k+1)`` whose Jacobian determinant is exactly 1 in absolute value (the log-odds and log-
sum coordinates of a point on a scaled simplex; checked numerically in the tests), so the
parameters keep their priors with no correction term: only the coordinates NUTS moves in
change, as with the partial centring of :mod:`models.centring`.

It is a PyMC transform on the vector that holds the parameters' log values: the population
means of a partially pooled block, or, when every one of them is shared (always so for one
group), a vector of their logs with their log-normal priors. Other entries of the vector pass
through. It applies only where it is exact: every parameter of the family's :class:`Pivot` in
one pooled block on the log link, or all shared with log-normal priors (:func:`placement`);
otherwise, or with ``ModelConfig.parametrisation`` "natural", the model is built as before.

For a law whose terms are not pure powers at the pivot (a broken power law with its break in
the data) ``m`` and ``s`` are only approximately what the data pin; the prior is still exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from models.centring import blocks
from models.families.broken_power_law import softplus

if TYPE_CHECKING:
    from models.config import ModelConfig

SHARED_NAME = "shared_log"  # the vector of shared parameters' logs, dims ``shared_param``
# Population-mean priors on the whole real line: a bounded one (Uniform, TruncatedNormal) keeps
# its own transform, which this one would replace.
REAL_LINE = ("Normal", "StudentT", "Cauchy")


@dataclass(frozen=True)
class Layout:
    """Where the floor, the amplitudes and the exponents sit in a vector of ``size`` logs."""

    size: int
    floor: int
    amplitudes: tuple[int, ...]
    exponents: tuple[int, ...]

    @classmethod
    def within(cls, names: Sequence[str], floor: str, terms: Sequence[tuple[str, str]]) -> Layout:
        """The positions of ``floor`` and ``terms`` (amplitude, exponent) in ``names``."""
        where = {n: i for i, n in enumerate(names)}
        return cls(
            len(names),
            where[floor],
            tuple(where[a] for a, _ in terms),
            tuple(where[x] for _, x in terms),
        )


def _logsumexp(xp: Any, parts: Sequence[Any]) -> Any:
    out = parts[0]
    for p in parts[1:]:
        out = xp.logaddexp(out, p)
    return out


def to_pivot(xp: Any, layout: Layout, theta: Any) -> Any:
    """Log parameters (last axis) -> pivot coordinates ``(v, u, rho, w)`` in the same slots."""
    out = [theta[..., i] for i in range(layout.size)]
    e = theta[..., layout.floor]
    a = [theta[..., i] for i in layout.amplitudes]
    reducible = _logsumexp(xp, a)
    out[layout.floor] = e - reducible
    out[layout.amplitudes[0]] = xp.logaddexp(e, reducible)
    for j in range(1, len(a)):
        out[layout.amplitudes[j]] = a[j] - a[0]
    for aj, i in zip(a, layout.exponents, strict=True):
        out[i] = theta[..., i] + aj
    return xp.stack(out, axis=-1)


def from_pivot(xp: Any, layout: Layout, y: Any) -> Any:
    """Pivot coordinates (last axis) -> log parameters: the inverse of :func:`to_pivot`."""
    out = [y[..., i] for i in range(layout.size)]
    v, u = y[..., layout.floor], y[..., layout.amplitudes[0]]
    rho = [y[..., i] for i in layout.amplitudes[1:]]
    log_reducible = u - softplus(xp, v)
    out[layout.floor] = u - softplus(xp, -v)
    norm = _logsumexp(xp, [xp.zeros_like(u), *rho])
    a = [log_reducible - norm] + [log_reducible + r - norm for r in rho]
    for aj, i in zip(a, layout.amplitudes, strict=True):
        out[i] = aj
    for aj, i in zip(a, layout.exponents, strict=True):
        out[i] = y[..., i] - aj
    return xp.stack(out, axis=-1)


def transform(layout: Layout) -> Any:
    """The PyMC transform: the value is the log-parameter vector, NUTS moves in pivot space."""
    import pytensor.tensor as pt
    from pymc.logprob.transforms import Transform

    class PivotTransform(Transform):  # type: ignore[misc]  # PyMC ships no type stubs
        name = "pivot"
        ndim_supp = 1

        def forward(self, value: Any, *inputs: Any) -> Any:
            return to_pivot(pt, layout, value)

        def backward(self, value: Any, *inputs: Any) -> Any:
            return from_pivot(pt, layout, value)

        def log_jac_det(self, value: Any, *inputs: Any) -> Any:
            # |det| = 1 exactly (module docstring); one entry per vector, not per element.
            return pt.zeros_like(value[..., 0])

    return PivotTransform()


@dataclass(frozen=True)
class Placement:
    """Where the transform goes in one model: a pooled block's means, or the shared logs."""

    where: Literal["block", "shared"]
    names: tuple[str, ...]  # the vector's entries, in order
    layout: Layout
    block: str | None = None


def placement(config: ModelConfig) -> Placement | None:
    """Where :func:`transform` applies in ``config``'s model, or None (built as before)."""
    pivot = config.family.pivot
    if config.parametrisation != "pivot" or pivot is None:
        return None
    names = pivot.names
    how = {config.pooling[n] for n in names}
    if how == {"shared"}:
        if any(config.priors[n].dist != "LogNormal" for n in names):
            return None
        return Placement("shared", names, Layout.within(names, pivot.floor, pivot.terms))
    if how == {"partial"}:
        for block in blocks(config):
            if set(names) <= set(block.params):
                if any(config.family.param(n).link != "log" for n in names):
                    return None
                if config.hyper[names[0]].mu.dist not in REAL_LINE:  # one signature per block
                    return None
                layout = Layout.within(block.params, pivot.floor, pivot.terms)
                return Placement("block", block.params, layout, block.name)
    return None
