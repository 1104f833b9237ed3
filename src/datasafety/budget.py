"""Time and memory budgets for a whole scan.

A budget never raises: stages ask :meth:`Budget.exhausted` between units of
work, stop when it answers, and the report lists them under ``incomplete``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def current_rss_mb() -> float:
    """Resident set size of this process in MB (Linux ``/proc/self/statm``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE / (1 << 20)
    except (OSError, ValueError, IndexError):
        return 0.0


@dataclass
class Budget:
    seconds: float | None = None
    """Wall-clock seconds for the whole scan; None = unlimited."""
    memory_mb: float | None = None
    """Resident memory ceiling of the scanning process in MB; None = unlimited."""
    started: float = field(default_factory=time.monotonic)

    def remaining(self) -> float | None:
        if self.seconds is None:
            return None
        return self.seconds - (time.monotonic() - self.started)

    def exhausted(self) -> str | None:
        """``"time"`` or ``"memory"`` when that budget has run out, else None."""
        if self.seconds is not None and time.monotonic() - self.started >= self.seconds:
            return "time"
        if self.memory_mb is not None and current_rss_mb() >= self.memory_mb:
            return "memory"
        return None


UNLIMITED = Budget()
