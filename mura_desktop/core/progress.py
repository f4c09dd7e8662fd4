"""Console progress with rate and ETA, for the CLI, the trainer and the benchmarks.

Not tqdm: the trainer's console goes to a log file that the viewer's Train window shows,
and tqdm redraws with carriage returns there (or prints nothing, with ``disable=None``);
this bar redraws one line on a terminal and writes a whole line every ``interval``
seconds anywhere else.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar:
    """Redraws one line on a terminal; elsewhere (logs, CI) prints a line every ``interval`` s."""

    def __init__(
        self, total: int, unit: str, stream: TextIO | None = None, interval: float = 10.0
    ) -> None:
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stderr
        self.interval = interval
        self.done = 0
        self._start = time.perf_counter()
        self._last_print = 0.0
        self._tty = self.stream.isatty()

    def update(self, done: int) -> None:
        self.done = done
        now = time.perf_counter()
        finished = done >= self.total
        if not finished and now - self._last_print < (0.1 if self._tty else self.interval):
            return
        self._last_print = now
        self.stream.write(("\r" if self._tty else "") + self._line(now - self._start))
        if not self._tty or finished:
            self.stream.write("\n")
        self.stream.flush()

    def _line(self, elapsed: float) -> str:
        frac = self.done / self.total if self.total else 1.0
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        bar = "#" * int(frac * 30)
        eta_text = format_duration(eta) if eta == eta else "?"
        return (
            f"[{bar:<30}] {self.done}/{self.total} {self.unit} "
            f"{rate:.1f}/s elapsed {format_duration(elapsed)} ETA {eta_text}"
        )
