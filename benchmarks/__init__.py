"""Benchmarks of bayescale with measured figures (see BENCHMARKS.md).

Run ``python -m benchmarks [NAME ...] [--quick] [--check] [--data-dir DIR] [--out DIR]``.
Each benchmark prints a table and writes ``<out>/<name>.json`` with its figures, the machine,
package versions and the date.
"""

BENCHMARKS = (
    "speed",
    "scaling",
    "memory",
    "epoch_chinchilla",
    "bnsl_addition",
    "sbc",
    "init",
    "centring",
    "peaks",
    "service_load",
    "extrapolation",
    "defaults",
    "large",
    "samplers",
)

__all__ = ["BENCHMARKS"]
