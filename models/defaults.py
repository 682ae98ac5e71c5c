"""What a fit does when the request does not say: one place for each default, importing nothing.

The CLI reads these to build its parser; keeping this module free of imports keeps
``bayescale --help`` from loading numpy, pandas or PyMC.
"""

from __future__ import annotations

# The family fitted when none is named: by models.fit, the HTTP API, the CLI and the dashboard:
# "auto", candidate laws weighted by leave-future-out stacking (models.auto).
AUTO = "auto"
DEFAULT_FAMILY = AUTO
# Student-t on log loss: on real curves the Normal let early or outlying points set the exponent
# (BENCHMARKS.md, "Pre-registered settings of family auto"); "normal" remains an option.
DEFAULT_LIKELIHOOD = "student_t"
# Runs longer than this are thinned to log-spaced checkpoints (models.runs): ten per decade over
# three decades of steps keeps a trajectory's shape at a few hundred rows per fit.
DEFAULT_MAX_PER_RUN = 30
# The pooling word with which family auto also scores each law weakly pooled (models.auto).
COMPARE_POOLING = "compare"
