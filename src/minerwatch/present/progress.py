"""Progress of a command's long steps, on stderr only (never mixed into stdout or JSON).

On a terminal: a transient Rich line (spinner, the step, a bar and count when the step
knows its total, the time elapsed), erased when the command ends. Elsewhere (stderr
redirected to a file or a pipe) nothing, unless asked (``--progress``): then one plain
line per step or count, ``<title>: <step>``, and ``<title>: done in <s> s`` at the end.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class Steps:
    """Progress of one command titled ``title`` on ``console`` (stderr).

    ``lines``: print plain lines where the console is not a terminal. Use as a context
    manager; the library reports through :meth:`step` (a new step begins) and
    :meth:`count` (``done`` of ``total`` ``unit``, total None when unknown).
    """

    def __init__(self, console: Console, title: str, *, lines: bool) -> None:
        self.console = console
        self.title = title
        self.live = console.is_terminal
        self.lines = lines and not self.live
        self._start = time.monotonic()
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._step = ""

    def __enter__(self) -> Steps:
        self._start = time.monotonic()
        if self.live:  # Rich's progress display only where it is seen
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.title, total=None)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
        if self.lines and kind is None:
            self._say(f"done in {time.monotonic() - self._start:.1f} s")

    def _say(self, text: str) -> None:
        self.console.print(f"{self.title}: {text}", markup=False, highlight=False, soft_wrap=True)

    def step(self, text: str) -> None:
        """A new step begins: ``text`` says what it does (``reading FILE``)."""
        self._step = text
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=f"{self.title}: {text}", total=None)
        if self.lines:
            self._say(text)

    def count(self, done: int, total: int | None, unit: str) -> None:
        """``done`` of ``total`` ``unit`` of the current step (``total`` None: unknown)."""
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=done, total=total)
        if self.lines:
            of = f" of {total:,}" if total is not None else ""
            self._say(f"{self._step + ': ' if self._step else ''}{done:,}{of} {unit}")
