"""How a fit spends its budget: every deadline, limit and share, decided in one place.

:meth:`FitPlan.create` turns the user's parameters and the size of the data into a frozen
:class:`FitPlan`; :func:`autometa.automl.run_automl` follows it. The rules:

* the search runs until ``start + budget`` minus a reserve for ensembling and refitting,
  estimated from the measured wall times of the best trials (:meth:`FitPlan.reserve`:
  ``REFIT_SAFETY`` x the refit estimate, at least :func:`reserve_floor` and at most
  ``MAX_RESERVE_SHARE`` of the budget);
* refits must end by :attr:`FitPlan.hard_end`, ``BUDGET_SLACK`` x the budget minus
  ``END_MARGIN`` seconds of bookkeeping;
* a trial may run ``per_trial_time_limit`` seconds (default: ``TRIAL_SHARE`` of the
  budget, at least ``MIN_TRIAL_LIMIT``), and a portfolio candidate expected to need more
  than ``AFFORDABLE`` of that is skipped;
* without an initial design from meta-learning, SMAC starts with ``N_RANDOM_INITIAL``
  random configurations (fewer under a smaller ``max_evals``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from autometa.components.target import NONE, TRANSFORMS
from autometa.evaluation import Resampling, choose_resampling
from autometa.latency import LatencyLimit
from autometa.records import Growth, Trial, finalists, growth

if TYPE_CHECKING:
    from autometa.evaluation import TaskData

MB = 2**20
BUDGET_SLACK = 1.03  # a fit returns within this multiple of its time budget
END_MARGIN = 0.4  # seconds kept for bookkeeping after the last refit
TRIAL_SHARE = 0.2  # default time limit of a trial: this share of the budget ...
MIN_TRIAL_LIMIT = 4.0  # ... but at least this many seconds
AFFORDABLE = 0.5  # portfolio candidates expected to need more of the trial limit are skipped
N_RANDOM_INITIAL = 10  # SMAC's random initial configurations when nothing is meta-learned
REFIT_SAFETY = 1.25  # refit time estimates are multiplied by this
# Share of a family's refit that runs in parallel threads (Amdahl's law), a little below
# its speed-up on two threads measured on 20,000 x 50 rows (benchmarks/thread_speedup.py:
# extra and random forests 2.0, XGBoost 1.7, LightGBM 1.7, histogram gradient boosting
# and MLP 1.3); other families: none assumed
PARALLEL_SHARE = {"extra_trees": 0.9, "random_forest": 0.9, "xgboost": 0.75,
                  "lightgbm": 0.75, "hist_gradient_boosting": 0.4, "mlp": 0.4}
# The least reserve (see reserve_floor): MIN_RESERVE_SHARE of the budget's first
# FLOOR_SPAN seconds, and LONG_RESERVE_SHARE of the rest
MIN_RESERVE_SHARE = 0.1
FLOOR_SPAN = 60.0
LONG_RESERVE_SHARE = 0.03
# At most this share. It binds where trials train on subsets (successive halving, a
# large holdout) and the refit is the first model to see all rows: there, rows decide the
# score (500,000 rows at 120 s: 0.3 refit the best model on 68,000 rows, 0.5 on 115,000,
# +0.003 ROC AUC on two seeds)
MAX_RESERVE_SHARE = 0.5
RESERVE_TOP = 8  # the reserve is estimated from this many best trials


@dataclass(frozen=True)
class FitPlan:
    """Everything a fit is asked to do and by when (all times ``time.monotonic()``).

    Attributes
    ----------
    budget : float
        Seconds for the whole fit.
    start : float
        When the fit started.
    seed : int
        Seed of the splits, SMAC and the models.
    n_workers : int
        Trials run at once (informs the refit reserve).
    max_evals : int or None
        Most trials (``None``: until the time is up).
    trial_time_limit : float
        Seconds one trial may run.
    memory_limit : int or None
        Bytes of resident memory a trial's worker may use.
    resampling : Resampling
        ``("cv", k, repeats)`` or ``("holdout", 1, 1)``.
    metric : str, scorer or None
        The metric asked for (``None``: the task's default).
    include, exclude : tuple of str or None
        Model families to search, or to leave out.
    extra_models : tuple of ModelSpec
        Families added to the built-in ones.
    meta_learning : {"auto", "greedy", "off"}
        How the initial design is chosen (see :mod:`autometa.initial_design`).
    n_initial_configs : int
        Portfolio configurations evaluated first, at most.
    n_learned_configs : int
        Configurations the hp-learner proposes after the portfolio's, at most (see
        :func:`autometa.initial_design.learned_picks`).
    surrogate : {"rf", "rgpe"}
        SMAC's model: its random forest, or RGPE over the source tasks (see
        :mod:`autometa.surrogate`).
    portfolio : Portfolio, path or None
        A portfolio to use instead of the shipped one.
    latency : LatencyLimit
        The prediction time the final ensemble must keep to, if any, and the batch size
        its latency is measured on (see :mod:`autometa.latency`).
    target_transform : {"auto", "none"}
        ``"auto"``: a regression search also chooses a target transformation (see
        :mod:`autometa.components.target`); ``"none"``: models learn the raw target.
    experience : FitExperience or None
        The experience store the initial design learns from (see
        :mod:`autometa.experience_use`).
    fidelity : {"auto", "full", "successive_halving", "hyperband"}
        Whether trials run on subsets of the training rows first (see
        :func:`autometa.fidelity.choose_rungs`).
    proxy_subsets : {"boundary", "random"}
        Which rows a lower fidelity trains on (see :mod:`autometa.fidelity`).
    """

    budget: float
    start: float
    seed: int
    n_workers: int = 1
    max_evals: int | None = None
    trial_time_limit: float = MIN_TRIAL_LIMIT
    memory_limit: int | None = None
    resampling: Resampling = field(default_factory=lambda: Resampling("cv", 5))
    metric: Any = None
    include: tuple[str, ...] | None = None
    exclude: tuple[str, ...] | None = None
    extra_models: tuple = ()
    meta_learning: str = "auto"
    n_initial_configs: int = 16
    n_learned_configs: int = 0
    surrogate: str = "rf"
    portfolio: Any = field(default=None, compare=False)
    latency: LatencyLimit = field(default_factory=LatencyLimit)
    target_transform: str = "none"
    experience: Any = field(default=None, compare=False)
    fidelity: str = "auto"
    proxy_subsets: str = "random"

    @property
    def target_transforms(self) -> tuple[str, ...]:
        """The target transformations a regression search chooses from."""
        return TRANSFORMS if self.target_transform == "auto" else (NONE,)

    @classmethod
    def create(cls, time_budget: float, n_rows: int, *, seed: int, start: float | None = None,
               per_trial_time_limit: float | None = None, memory_limit: float | None = None,
               resampling: str | int = "auto", n_classes: int | None = None,
               **settings: Any) -> FitPlan:
        """The plan for a fit of ``time_budget`` seconds on ``n_rows`` rows.

        Parameters
        ----------
        time_budget : float
            Seconds for the whole fit.
        n_rows : int
            Training rows (they decide the resampling).
        seed : int
        start : float, optional
            ``time.monotonic()`` when the fit started (default: now).
        per_trial_time_limit : float, optional
            Seconds per trial (default: ``TRIAL_SHARE`` of the budget, at least
            ``MIN_TRIAL_LIMIT``).
        memory_limit : float, optional
            Megabytes per trial's worker.
        resampling : {"auto", "holdout", "cv", "repeated_cv"} or int
            See :func:`autometa.evaluation.choose_resampling`.
        n_classes : int, optional
            Classes of a classification task (``None`` for regression; it decides the
            resampling with the rows).
        **settings
            The other fields of :class:`FitPlan`.
        """
        limit = per_trial_time_limit or max(MIN_TRIAL_LIMIT, TRIAL_SHARE * time_budget)
        return cls(
            budget=float(time_budget),
            start=time.monotonic() if start is None else start,
            seed=seed,
            trial_time_limit=float(limit),
            memory_limit=int(memory_limit * MB) if memory_limit else None,
            resampling=choose_resampling(resampling, n_rows, time_budget, n_classes),
            **settings,
        )

    @property
    def search_end(self) -> float:
        """When the search must stop, before its refit reserve."""
        return self.start + self.budget

    @property
    def hard_end(self) -> float:
        """When the last refit must be done."""
        return self.start + BUDGET_SLACK * self.budget - END_MARGIN

    @property
    def affordable_seconds(self) -> float:
        """Expected seconds above which a portfolio candidate is not tried."""
        return AFFORDABLE * self.trial_time_limit

    def n_random_initial(self, has_initial_design: bool) -> int:
        """SMAC's random initial configurations: none after a meta-learned design."""
        return 0 if has_initial_design else min(N_RANDOM_INITIAL, self.max_evals or
                                                N_RANDOM_INITIAL)

    def reserve(self, trials: Sequence[Trial], data: TaskData) -> float:
        """Seconds to keep free at the end of the search for selecting and refitting."""
        ok = sorted(finalists(trials), key=lambda t: t.loss)[:RESERVE_TOP]
        estimates = [refit_seconds(t, data) for t in ok] or [0.0]
        needed = REFIT_SAFETY * max(max(estimates), sum(estimates) / self.n_workers)
        return max(reserve_floor(self.budget),
                   min(MAX_RESERVE_SHARE * self.budget, 1.0 + needed))


def reserve_floor(budget: float) -> float:
    """The least reserve of a ``budget``: ``MIN_RESERVE_SHARE`` of it up to ``FLOOR_SPAN``
    seconds, ``LONG_RESERVE_SHARE`` of the rest. Selecting the ensemble and the other work
    after the search take about the same seconds at any budget, so a longer fit searches
    a larger share of it (the refit itself is reserved from its measured estimate)."""
    return (MIN_RESERVE_SHARE * min(budget, FLOOR_SPAN)
            + LONG_RESERVE_SHARE * max(0.0, budget - FLOOR_SPAN))


def seconds_per_row(trial: Trial, data: TaskData) -> float:
    """A trial's measured wall time per training row of one split (at its fidelity, on
    all its trees)."""
    train_sizes = [len(tr) for tr, _ in data.splits]
    rows = float(np.mean(train_sizes))
    if trial.fidelity is not None and trial.fidelity < max(train_sizes):
        rows = float(trial.fidelity)
    return trial.all_trees_seconds / len(train_sizes) / rows


def refit_seconds(trial: Trial, data: TaskData) -> float:
    """Expected seconds to refit ``trial`` on all rows, from its measured wall time."""
    return seconds_per_row(trial, data) * len(data.y)


def refit_size(trial: Trial, data: TaskData, seconds: float, trials: Sequence[Trial] = (),
               n_rows: int | None = None) -> tuple[int | None, float]:
    """Rows a refit of ``trial`` can use in ``seconds`` (``None``: all ``n_rows`` it may
    train on, by default all rows), never fewer than the trial trained on, and the
    refit's expected seconds on them.

    The time grows with the rows as the configuration's ``trials`` on two fidelities
    measured (see :class:`autometa.records.Growth`), otherwise linearly.
    """
    n_rows = n_rows or len(data.y)
    n_splits = len(data.splits)  # a trial's wall time covers one fit per split
    own, known = _refit_growth(trial, data, trials)
    rows = max(own, round(min(known.rows_within(seconds * n_splits), n_rows)))
    rows = None if rows >= n_rows else rows
    return rows, known.seconds_at(rows or n_rows) / n_splits


def full_refit_seconds(trial: Trial, data: TaskData, trials: Sequence[Trial] = (),
                       n_rows: int | None = None) -> float:
    """Expected seconds to refit ``trial`` on all ``n_rows`` it may train on (by default
    all rows), as :func:`refit_size` foretells (from how its configuration's time grew
    with its rows; :func:`refit_seconds`, the reserve's estimate, assumes the time grows
    linearly)."""
    _, known = _refit_growth(trial, data, trials)
    return known.seconds_at(n_rows or len(data.y)) / len(data.splits)


def _refit_growth(trial: Trial, data: TaskData, trials: Sequence[Trial]) -> tuple[int, Growth]:
    """The rows ``trial`` trained on per split, and how its time grows from there."""
    own = trial.fidelity or max(len(train) for train, _ in data.splits)
    return own, growth(trial.config, trials, own + 1) or Growth(own, trial.all_trees_seconds)


def thread_speedup(family: str, threads: int) -> float:
    """How many times faster a refit of ``family`` trains on ``threads`` threads than on
    one (Amdahl's law with the family's ``PARALLEL_SHARE``)."""
    share = PARALLEL_SHARE.get(family, 0.0)
    return 1.0 / (1.0 - share + share / max(threads, 1))
