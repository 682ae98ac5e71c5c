"""Benchmarks of bayescale with measured figures (see BENCHMARKS.md).

Run ``python -m benchmarks {speed,epoch_chinchilla,all} [--quick] [--data-dir DIR] [--out DIR]``.
Each benchmark prints a table and writes ``<out>/<name>.json`` with its figures, the machine,
package versions and the date.
"""

BENCHMARKS = ("speed", "epoch_chinchilla", "bnsl_addition", "sbc", "service_load")

__all__ = ["BENCHMARKS"]
