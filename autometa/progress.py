"""Progress of a fit on stderr: a live ``rich`` display, or one line per trial.

:class:`FitProgress` is a :class:`~autometa.callbacks.Callback`; the estimators add one
when their ``verbose`` is at least 1. On a terminal (or in a notebook) the display is a
live bar of elapsed time against the budget with the trial counts, the best validation
score so far and the last model family; otherwise (stderr redirected to a file or a
pipe) it prints one plain line per trial. ``verbose >= 2`` also prints a line per trial
above the live bar.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    ProgressBar,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
)
from rich.table import Column
from rich.text import Text

from autometa.callbacks import Callback
from autometa.records import Trial

if TYPE_CHECKING:
    from autometa.automl import FitResult
    from autometa.evaluation import TaskData
    from autometa.plan import FitPlan

PREFIX = "[autometa]"
ERROR_WIDTH = 100  # characters of a failed trial's error shown in a line


class FitProgress(Callback):
    """Counts trials and shows them, live on a terminal or line by line otherwise.

    Parameters
    ----------
    budget : float
        The fit's time budget in seconds.
    verbose : int
        1: the live display (or a line per trial off a terminal); 2: also a line per
        trial above the live display.
    stream : file-like, optional
        Where to write (default: ``sys.stderr``).
    live : bool or None
        Force the live display on or off; ``None`` decides from the stream.
    start : float, optional
        ``time.monotonic()`` when the fit started (default: when it is told of the start).
    metric : str
        Name of the metric shown until the fit says which one it optimises.
    """

    def __init__(self, budget: float, verbose: int = 1, stream=None, live: bool | None = None,
                 start: float | None = None, metric: str = "score"):
        self.start_time = time.monotonic() if start is None else start
        self.budget = float(budget)
        self.verbose = int(verbose)
        self.metric = metric
        self.console = Console(file=stream or sys.stderr, highlight=False)
        self.live = (self.console.is_terminal or self.console.is_jupyter) if live is None \
            else live
        self.n_done = self.n_failed = 0
        self.best: Trial | None = None
        self.last: Trial | None = None
        self._progress = None
        self._task = None

    # -- callback ---------------------------------------------------------------------------

    def on_start(self, plan: FitPlan, data: TaskData) -> None:
        self.start_time, self.metric = plan.start, data.metric.name
        self.start()

    def on_trial(self, trial: Trial) -> None:
        self.update(trial)

    def on_end(self, result: FitResult | None) -> None:
        self.stop(finished=result is not None)

    # -- state ------------------------------------------------------------------------------

    def elapsed(self) -> float:
        """Seconds since ``fit`` started."""
        return time.monotonic() - self.start_time

    def update(self, trial: Trial) -> None:
        """Record a finished trial and show it."""
        self.n_done += 1
        self.n_failed += trial.failed
        self.last = trial
        if trial.ok and (self.best is None or trial.loss < self.best.loss):
            self.best = trial
        if self._progress is not None:
            self._progress.update(self._task, status=self.status())
            if self.verbose >= 2:
                self._progress.console.print(self.trial_line(trial))
        else:
            self._print(self.trial_line(trial))

    # -- text -------------------------------------------------------------------------------

    def status(self) -> str:
        """One line of counts, best score and last family (rich markup)."""
        parts = [f"{self.n_done} trial{'s' if self.n_done != 1 else ''}"]
        if self.n_failed:
            parts.append(f"[red]{self.n_failed} failed[/]")
        if self.best is not None:
            parts.append(f"best {escape(self.metric)} [bold]{-self.best.loss:.5g}[/] "
                         f"({escape(self.best.family)})")
        if self.last is not None:
            style = "green" if self.last.ok else "red"
            parts.append(f"last {escape(self.last.family)} [{style}]{self.last.status}[/]")
        return " · ".join(parts)

    def trial_line(self, trial: Trial) -> str:
        """A plain line describing ``trial`` and the search so far."""
        if trial.ok:
            outcome = f"ok, {self.metric} {-trial.loss:.5g}"
        else:
            error = " ".join(trial.error.split())
            if len(error) > ERROR_WIDTH:
                error = error[: ERROR_WIDTH - 3] + "..."
            outcome = f"{trial.status}" + (f" ({error})" if error else "")
        best = "-" if self.best is None else f"{-self.best.loss:.5g}"
        rows = "" if trial.fidelity is None else f", {trial.fidelity} rows" + (
            f", {trial.trees:.0%} of its trees" if trial.trees < 1 else "") + (
            ", promoted" if trial.promoted else "")
        return (f"{PREFIX} trial {trial.id} {trial.family} ({trial.origin}{rows}): {outcome} | "
                f"best {best} | {self.n_done} done, {self.n_failed} failed | "
                f"{self.elapsed():.1f}/{self.budget:g} s")

    def summary(self) -> str:
        """A closing line: trials, failures, best score and time."""
        best = "no successful trial" if self.best is None else (
            f"best {self.metric} {-self.best.loss:.5g} ({self.best.family})")
        return (f"{PREFIX} done in {self.elapsed():.1f} s: {self.n_done} trials, "
                f"{self.n_failed} failed, {best}")

    # -- display ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the live display, or print a first plain line."""
        if not self.live:
            self._print(f"{PREFIX} searching for up to {self.budget:g} s")
            return
        self._progress = self._make_progress()
        self._task = self._progress.add_task("autometa", total=self.budget,
                                             status="waiting for the first trial")
        self._progress.start()

    def stop(self, finished: bool = True) -> None:
        """Stop the display; after a completed fit, show the final state."""
        if self._progress is not None:
            end = "[green]done[/]" if finished else "[yellow]stopped[/]"
            self._progress.update(self._task, status=f"{self.status()} · {end}")
            self._progress.stop()
            self._progress = None
        elif finished:
            self._print(self.summary())

    def _make_progress(self) -> Progress:
        # Fixed widths, so that on a narrow terminal the status text is cut short
        # (with an ellipsis) rather than the bar and the clock squeezed out.
        width = self.console.width
        bar = min(24, max(6, width - 70))
        return Progress(
            SpinnerColumn(),
            TextColumn("[bold]autometa[/]"),
            BudgetBar(self.elapsed, bar_width=bar),
            BudgetClock(self.elapsed),
            TextColumn("{task.fields[status]}", table_column=Column(
                no_wrap=True, overflow="ellipsis", max_width=max(12, width - bar - 24))),
            console=self.console,
            refresh_per_second=4,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def _print(self, line: str) -> None:
        self.console.print(line, markup=False, soft_wrap=True)


class BudgetBar(BarColumn):
    """A rich bar filled by the elapsed share of the time budget (the task's total)."""

    def __init__(self, elapsed: Callable[[], float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.elapsed = elapsed

    def render(self, task: Task) -> ProgressBar:
        return ProgressBar(total=task.total, completed=min(self.elapsed(), task.total),
                           width=self.bar_width, animation_time=task.get_time(),
                           style=self.style, complete_style=self.complete_style,
                           finished_style=self.finished_style)


class BudgetClock(ProgressColumn):
    """Elapsed seconds against the time budget, e.g. ``12/60 s``."""

    def __init__(self, elapsed: Callable[[], float]) -> None:
        super().__init__()
        self.elapsed = elapsed

    def render(self, task: Task) -> Text:
        return Text(f"{self.elapsed():3.0f}/{task.total:g} s", style="progress.elapsed")
