"""Progress display for long work: a rich progress bar with rate and ETA on a terminal, and plain
periodic log lines elsewhere (CI logs, files), so long runs always show they are alive."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

console = Console(stderr=True)


class _Lines:
    """Fallback for non-terminals: a line every `every` seconds and at the end."""

    def __init__(self, description: str, total: int, unit: str, every: float | None = 30.0):
        self.description, self.total, self.unit, self.every = description, total, unit, every
        self.done = 0
        self.start = self.last = time.perf_counter()

    def advance(self, n: int = 1, **fields) -> None:
        self.done += n
        if self.every is None:
            return
        now = time.perf_counter()
        if now - self.last >= self.every or self.done >= self.total:
            rate = self.done / max(now - self.start, 1e-9)
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            extra = " ".join(f"{k}={v}" for k, v in fields.items())
            print(
                f"  {self.description}: {self.done}/{self.total} {self.unit} "
                f"({rate:.1f} {self.unit}/s, eta {eta:.0f}s) {extra}".rstrip(),
                file=sys.stderr,
                flush=True,
            )
            self.last = now


class _Rate(ProgressColumn):
    def __init__(self, unit: str):
        super().__init__()
        self.unit = unit

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("?" if speed is None else f"{speed:.1f} {self.unit}/s")


class _Bar:
    def __init__(self, progress: Progress, task):
        self.progress, self.task = progress, task

    def advance(self, n: int = 1, **fields) -> None:
        extra = " ".join(f"{k}={v}" for k, v in fields.items())
        self.progress.update(self.task, advance=n, extra=extra)


@contextmanager
def progress(
    description: str, total: int, unit: str = "clips", enabled: bool = True
) -> Iterator[_Bar | _Lines]:
    """``with progress("fold 3 epoch 2", total) as p: p.advance(k, loss="0.31")``"""
    if not enabled or not console.is_terminal:
        yield _Lines(description, total, unit, every=30.0 if enabled else None)
        return
    cols = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(unit),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[extra]}"),
    )
    with Progress(*cols, console=console, transient=True) as bar:
        task = bar.add_task(description, total=total, extra="")
        yield _Bar(bar, task)
