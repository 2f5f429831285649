"""Callbacks: how progress displays, reports and stores follow a fit (as in SMAC3).

Subclass :class:`Callback` and override what you need; pass instances to an estimator's
``callbacks`` parameter or to :func:`autometa.automl.run_automl`. A callback may raise
``KeyboardInterrupt`` in ``on_trial`` to end the search early (the fit then keeps the
best pipeline so far, as after Ctrl-C).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from autometa.records import Trial

if TYPE_CHECKING:
    from autometa.automl import FitResult
    from autometa.evaluation import TaskData
    from autometa.plan import FitPlan


class Callback:
    """Hooks called by a fit; every one does nothing unless overridden."""

    def on_start(self, plan: FitPlan, data: TaskData) -> None:
        """The search is about to start (the data is typed and split)."""

    def on_trial(self, trial: Trial) -> None:
        """A trial finished (successfully or not) and was recorded."""

    def on_end(self, result: FitResult | None) -> None:
        """The fit ended: its result, or ``None`` when it failed (the error follows)."""


class CallbackList(Callback):
    """Several callbacks called in order."""

    def __init__(self, callbacks: Sequence[Callback] = ()) -> None:
        self.callbacks = list(callbacks)

    def on_start(self, plan: FitPlan, data: TaskData) -> None:
        for callback in self.callbacks:
            callback.on_start(plan, data)

    def on_trial(self, trial: Trial) -> None:
        for callback in self.callbacks:
            callback.on_trial(trial)

    def on_end(self, result: FitResult | None) -> None:
        for callback in self.callbacks:
            callback.on_end(result)
