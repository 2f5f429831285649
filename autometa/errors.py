"""Errors of a fit that a caller may want to tell apart."""

from __future__ import annotations

from collections.abc import Sequence

from autometa.records import Trial

MAX_ERRORS_SHOWN = 5


class NoSuccessfulTrial(RuntimeError):
    """No trial of the search succeeded, so there is no model.

    Parameters
    ----------
    trials : sequence of Trial
        The failed trials (possibly none: the budget ran out first).
    time_budget : float
        The fit's budget in seconds.
    """

    def __init__(self, trials: Sequence[Trial], time_budget: float) -> None:
        self.trials = list(trials)
        self.time_budget = time_budget
        super().__init__(self.describe())

    @property
    def errors(self) -> list[str]:
        """The distinct failures, as ``status: error`` (a few of them)."""
        return sorted({f"{t.status}: {t.error}" for t in self.trials})[:MAX_ERRORS_SHOWN]

    def describe(self, budget: str = "time_budget=",
                 trial_limit: str | None = "per_trial_time_limit") -> str:
        """The message, naming the settings to change as the caller spells them
        (``trial_limit=None`` when the caller has no such setting)."""
        if not self.trials:
            return (f"No pipeline could be evaluated within {budget}{self.time_budget:g} s; "
                    f"increase {budget.rstrip('= ')}.")
        what = budget.rstrip("= ") + (f" or {trial_limit}" if trial_limit else "")
        return (f"All {len(self.trials)} trials failed; increase {what}. "
                f"Errors seen: {self.errors}")
