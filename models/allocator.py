"""Keep prediction's large temporaries on the heap instead of fresh pages on every call.

glibc serves blocks above ``M_MMAP_THRESHOLD`` (128 KiB, raised dynamically to at most the
largest freed block) with ``mmap`` and returns the heap's top to the system above
``M_TRIM_THRESHOLD``. A 100-point x 4,000-draw prediction makes several 3.2 MB float64 arrays:
each came back as new zero pages, and the page faults cost more than the arithmetic (``np.exp``
on such an array: 2.0 ms when the block is reused, 5.9 ms when it is freshly mapped; a whole
``Fit.predict`` 21 ms -> 14 ms; BENCHMARKS.md, "Prediction on two threads"). With both
thresholds raised, a process keeps up to :data:`TRIM_BYTES` of freed memory for reuse instead of
returning it at once.

Process-wide and glibc-only; a no-op elsewhere or when ``BAYESCALE_MALLOC_TUNING=0``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_BYTES = 32 * 2**20  # glibc's largest allowed mmap threshold on 64-bit
TRIM_BYTES = 64 * 2**20

_done: bool | None = None


def keep_large_blocks() -> bool:
    """Raise glibc's mmap and trim thresholds once per process; whether they are raised."""
    global _done
    if _done is None:
        _done = _tune()
    return _done


def _tune() -> bool:
    if os.environ.get("BAYESCALE_MALLOC_TUNING", "1") == "0":
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_BYTES)
    )
