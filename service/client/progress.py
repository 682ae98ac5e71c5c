"""A fit's status line on stderr while a client waits for it.

On a terminal the line is redrawn in place (a bar, the percentage, status and elapsed time); in a
log file (stderr not a terminal) a line is written only when the status or the tenth of progress
changes, so CI logs stay short.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 30


class StatusLine:
    """Draws ``fit <id> [#####-----]  45% running  12s`` for each poll of a fit."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.start = time.monotonic()
        self.last: tuple[str, int] | None = None

    def update(self, status: str, fraction: float) -> None:
        """Show ``status`` at ``fraction`` done (0..1)."""
        fraction = min(max(fraction, 0.0), 1.0)
        done = int(BAR_WIDTH * fraction)
        bar = "#" * done + "-" * (BAR_WIDTH - done)
        elapsed = time.monotonic() - self.start
        text = f"{self.label} [{bar}] {fraction:4.0%} {status:<9} {elapsed:5.0f}s"
        if self.tty:
            self.stream.write("\r" + text)
        elif (key := (status, int(fraction * 10))) != self.last:
            self.last = key
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the redrawn line so later output starts on its own."""
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
