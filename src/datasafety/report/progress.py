"""A Rich progress bar on stderr that appears only for scans longer than 2 seconds."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

STAGE_LABELS = {"index": "indexing DEX files", "call_sites": "finding call sites", "sdks": "matching SDKs"}


class DelayedProgress:
    """Context manager; pass :meth:`update` as the pipeline's ``progress(stage, done, total)``."""

    def __init__(self, enabled: bool, delay_seconds: float = 2.0):
        self.enabled = enabled
        self.delay = delay_seconds
        self.started = time.monotonic()
        self._progress: Progress | None = None
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> "DelayedProgress":
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or time.monotonic() - self.started < self.delay:
            return
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(), console=Console(stderr=True), transient=True,
            )
            self._progress.start()
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(STAGE_LABELS.get(stage, stage), total=total)
        self._progress.update(self._tasks[stage], completed=done, total=total)
