"""Bayesian optimisation with SMAC3 over the CASH space: the ask/tell loop (SMAC itself is
set up in :mod:`autometa.smac_setup`).

SMAC is used through ask/tell: trials run on an :class:`~autometa.pool.Executor`, the
next configuration is asked for while the current one runs, and every trial —
successful or not — becomes a :class:`Trial` record. Failures are told to SMAC at the
cost of the worst success (once there is one).

With :class:`MultiFidelity` settings, SMAC's successive halving (or Hyperband)
intensifier chooses the trials and their fidelity: SMAC's budget is the number of training
rows per split (see :meth:`autometa.evaluation.TaskData.train_rows`). The initial design's
configurations then enter SMAC's own initial design, so they start at the lowest rung and
are promoted like any other. A promotion that its trials on fewer rows say cannot end
within the trial's time limit, or before the search ends, is not run, nor one they say
takes more than ``promotion_seconds`` when its configuration is not the best of its rung
(``family_promotion_seconds`` for its family's best there; see
:mod:`autometa.promotion`): it is recorded as ``skipped`` and told to SMAC as a failure.
So is a configuration SMAC proposes that a :class:`~autometa.cost.CostModel` expects to
take more than ``proposal_seconds`` (SMAC then learns to avoid its region); SMAC's
acquisition itself favours cheap configurations (see :mod:`autometa.acquisition`).
The initial design's configurations run on the lowest rung whatever they cost, except the
portfolio's second and later ones of a family expected to take more than
``repeat_seconds``: one representative of a slow family is enough to tell whether SMAC
should look further there. The :attr:`SearchState.finalists`, the ensemble's candidates,
are the highest fidelity's trials and the skipped configurations' best ones.

Ctrl-C (``KeyboardInterrupt``) ends a search that has a successful trial early: the
running trials are dropped and the state says ``interrupted``, so the caller can go on
with the trials so far. Before any success, the interrupt propagates.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ConfigSpace import ConfigurationSpace

from autometa.cost import CostModel
from autometa.evaluation import Evaluation
from autometa.fidelity import tree_share
from autometa.pool import Executor
from autometa.promotion import outranked, unaffordable
from autometa.records import (
    SKIPPED,
    Trial,
    config_key,
    fidelity_level,
    finalists,
)
from autometa.sandbox import Job, JobResult, trim_heap
from autometa.smac_setup import MultiFidelity, make_smac, trial_rows
from autometa.space import ROOT, complete, configuration, to_dict

PORTFOLIO_ORIGIN = "portfolio"
MAX_SKIPS = 5  # after this many trials skipped in a row, SMAC's next proposal runs anyway

InitialDesignFn = Callable[[Sequence[tuple[dict, float | None]]], dict | None]
@dataclass(frozen=True)
class SearchSettings:
    """How long and how a search runs.

    ``deadline`` is an instant of ``clock``; ``reserve`` is called with the trials so far
    and returns the seconds to keep free before it (for refitting). ``initial_design``,
    while it returns configurations, chooses the trials instead of SMAC: it is called
    with the (config, loss) pairs tried so far (loss ``inf`` for a failure, ``None``
    while running) and returns the next configuration, or ``None`` when done.
    ``surrogate(space, seed)`` makes SMAC's model (default: :func:`random_forest`; see
    :mod:`autometa.surrogate`). Under successive halving, a configuration SMAC proposes
    is not run when ``cost`` expects it to take more than ``proposal_seconds``, nor a
    portfolio configuration of the initial design whose family has a trial already and
    that ``cost`` expects to take more than ``repeat_seconds``, nor a promotion expected to
    take more than ``promotion_seconds`` of a configuration that is not the best of its
    rung, or than ``family_promotion_seconds`` of its family's best there (see
    :mod:`autometa.promotion`).
    """

    seed: int
    deadline: float
    trial_time_limit: float
    memory_limit: int | None = None
    max_evals: int | None = None
    initial_design: InitialDesignFn | None = None
    n_random_initial: int = 0
    n_threads: int = 1
    reserve: Callable[[list[Trial]], float] = field(default=lambda trials: 0.0)
    clock: Callable[[], float] = time.monotonic
    surrogate: Callable[[ConfigurationSpace, int], object] | None = None  # SMAC's model
    multi_fidelity: MultiFidelity | None = None
    full_rows: int | None = None  # training rows per split of a trial on all rows
    cost: CostModel | None = None
    proposal_seconds: float = np.inf
    repeat_seconds: float = np.inf
    promotion_seconds: float = np.inf
    family_promotion_seconds: float | None = None  # default: promotion_seconds


@dataclass
class SearchState:
    """Trials, their validation predictions, and SMAC's state (to continue later)."""

    trials: list[Trial] = field(default_factory=list)
    predictions: dict[int, np.ndarray] = field(default_factory=dict)
    smac: object = None
    untold: list = field(default_factory=list)
    best_models: tuple[int, object] | None = None  # fold models of the best trial so far
    interrupted: bool = False  # the last run was ended early by Ctrl-C
    portfolio: set[str] = field(default_factory=set)  # keys of the initial design's configs
    origins: dict[str, str] = field(default_factory=dict)  # their origin, by key
    designing: bool = True  # the initial design may still hand out configurations
    multi_fidelity: MultiFidelity | None = None  # the search's (kept to continue it)

    @property
    def successes(self) -> list[Trial]:
        return [t for t in self.trials if t.ok]

    @property
    def top_fidelity(self) -> float:
        """The highest fidelity of a successful trial (``inf`` for all rows, ``-inf``
        before a success)."""
        return max((fidelity_level(t.fidelity) for t in self.successes), default=-np.inf)

    @property
    def finalists(self) -> list[Trial]:
        """The ensemble's candidates (see :func:`autometa.records.finalists`)."""
        return finalists(self.trials)

    @property
    def best_loss(self) -> float:
        """The lowest loss of the :attr:`finalists` (``inf`` before a success)."""
        return min((t.loss for t in self.finalists), default=np.inf)


def run_search(space: ConfigurationSpace, pool: Executor, settings: SearchSettings,
               state: SearchState | None = None,
               on_trial: Callable[[Trial], None] | None = None) -> SearchState:
    """Run trials until the deadline (minus the reserve) or ``max_evals``."""
    state = state or SearchState()
    output = Path(tempfile.mkdtemp(prefix="autometa-smac-"))
    try:
        if state.smac is None:
            state.multi_fidelity = settings.multi_fidelity
            initial = _initial_configs(state, space, settings) if settings.multi_fidelity \
                else ()
            state.smac = make_smac(space, settings, output, initial)
        _loop(state, space, pool, settings, on_trial)
    finally:
        shutil.rmtree(output, ignore_errors=True)
    return state


def _loop(state: SearchState, space, pool: Executor, settings: SearchSettings,
          on_trial) -> None:
    state.interrupted = False
    try:
        _run_trials(state, space, pool, settings, on_trial)
    except KeyboardInterrupt:
        if not state.successes:
            raise
        pool.cancel()  # unfinished trials are dropped, not recorded
        state.interrupted = True


def _run_trials(state: SearchState, space, pool: Executor, settings: SearchSettings,
                on_trial) -> None:
    smac, running, asked = state.smac, {}, None
    start_count = len(state.trials)
    clock = settings.clock

    def end() -> float:
        return settings.deadline - settings.reserve(state.trials)

    def more() -> bool:
        done = sum(t.status != SKIPPED for t in state.trials[start_count:]) + len(running)
        return settings.max_evals is None or done < settings.max_evals

    while True:
        while pool.idle() and more() and clock() < end() - 0.2 and not _hold(state, running):
            info = asked or _next(state, space, settings, running) or _ask(smac)
            asked = None
            trial_id = len(state.trials) + len(running)
            rows = trial_rows(info.budget, state.multi_fidelity)
            fidelity = settings.full_rows if rows is None else rows
            config = to_dict(info.config)
            trees = tree_share(config, rows)
            evaluation = Evaluation(config, settings.seed, settings.n_threads,
                                    keep_models_below=_keep_below(state, fidelity), rows=rows,
                                    trees=trees)
            job = Job(trial_id, evaluation, end(), settings.trial_time_limit,
                      settings.memory_limit, settings.n_threads)
            allowed = min(settings.trial_time_limit, end() - clock())
            why = _unpromoted(state, settings, config, fidelity, allowed, trees) or \
                _costly(state, settings, config, fidelity, allowed, running, trees)
            if why:
                _record(state, JobResult(job, SKIPPED, error=why), info, clock(),
                        settings.full_rows)
                if on_trial is not None:
                    on_trial(state.trials[-1])
                continue
            running[trial_id] = (info, clock())
            pool.submit(job)
        if not running:
            return
        if asked is None and more() and not state.designing and not state.multi_fidelity:
            asked = _ask(smac)  # while the current trials run (successive halving: after
            # the results are told, so that a finished rung promotes before the next opens)
        for result in pool.wait(timeout=max(0.0, end() - clock())):
            _record(state, result, *running.pop(result.job.key), settings.full_rows)
            if on_trial is not None:
                on_trial(state.trials[-1])
        trim_heap()  # the results' transfer buffers, and fold models not kept
        if clock() >= end():
            for job in pool.cancel():
                info, started = running.pop(job.key)
                result = JobResult(job, "timeout", error="stopped at the end of the time budget",
                                   wall_time=clock() - started)
                _record(state, result, info, started, settings.full_rows)
            return


def _unpromoted(state: SearchState, settings: SearchSettings, config: dict,
                fidelity: int | None, seconds: float, trees: float = 1.0) -> str:
    """Why a promotion of ``config`` to ``fidelity`` rows (and ``trees`` of its trees) is
    not run (empty: it is, or it is not a promotion): see
    :func:`~autometa.promotion.unaffordable` and :func:`~autometa.promotion.outranked`."""
    if state.multi_fidelity is None or fidelity is None:
        return ""
    return unaffordable(config, fidelity, state.trials, seconds, trees) or \
        outranked(config, fidelity, state.trials, settings.promotion_seconds,
                  settings.family_promotion_seconds, trees)


def _costly(state: SearchState, settings: SearchSettings, config: dict, fidelity: int | None,
            allowed: float, running: dict, trees: float = 1.0) -> str:
    """Why ``config``, never tried, is not run on ``fidelity`` rows and ``trees`` of its
    trees (empty: it is):
    ``settings.cost`` expects it to take more than ``allowed`` or ``proposal_seconds`` (a
    proposal of SMAC), or than ``repeat_seconds`` (a portfolio configuration of the
    initial design whose family has run or is running already; the design's first of a
    family always runs, as do its other picks). Nothing is judged after
    :data:`MAX_SKIPS` trials skipped in a row."""
    if settings.cost is None or state.multi_fidelity is None or fidelity is None:
        return ""  # every search without successive halving passes here, before any work
    key = config_key(config)
    if any(config_key(t.config) == key for t in state.trials):
        return ""  # a promotion (see _unpromoted)
    if len(state.trials) >= MAX_SKIPS and \
            all(t.status == SKIPPED for t in state.trials[-MAX_SKIPS:]):
        return ""
    origin = state.origins.get(key)
    designed = origin is not None
    if designed and (origin != PORTFOLIO_ORIGIN or
                     not _family_started(state, str(config[ROOT]), running)):
        return ""  # the design's stored and learned picks, and its first of a family
    seconds = min(allowed, settings.repeat_seconds if designed else settings.proposal_seconds)
    on_all_trees = settings.cost.seconds(config, fidelity, state.trials)
    if on_all_trees is None or (expected := on_all_trees * trees) <= seconds:
        return ""
    what = f"another {config[ROOT]} of the initial design" if designed else "a proposal"
    return (f"not run: expected to take {expected:.1f} s on {fidelity} rows (the "
            f"portfolio's measured times, calibrated on this search's trials), more than the "
            f"{max(seconds, 0.0):.1f} s {what} may take")


def _family_started(state: SearchState, family: str, running: dict) -> bool:
    """Whether a trial of ``family`` has run (skipped ones aside) or is running."""
    return any(t.family == family and t.status != SKIPPED for t in state.trials) or \
        any(str(info.config[ROOT]) == family for info, _ in running.values())


def _hold(state: SearchState, running: dict) -> bool:
    """Under successive halving, whether an idle worker waits for a running trial instead
    of asking SMAC: when SMAC has no trial to hand out until a running one ends, it opens
    a new bracket, and runs that bracket's lowest rung before the promotions the running
    rung brings. Not while only trials of the highest rung run, which promote nothing."""
    mf = state.multi_fidelity
    if mf is None or all(trial_rows(info.budget, mf) is None for info, _ in running.values()):
        return False
    return not _pending(state, running)


def _pending(state: SearchState, running: dict) -> bool:
    """Whether SMAC's intensifier holds a configuration not yet run at its rung (read from
    its public state: the configurations of each bracket and stage)."""
    mf = state.multi_fidelity
    seen = {(config_key(t.config), t.fidelity) for t in state.trials}
    seen |= {(config_key(to_dict(info.config)), _rows_or(info.budget, mf)) for info, _ in
             running.values()}
    tracker = state.smac.intensifier.get_state()["tracker"]
    for key, groups in tracker.items():
        bracket, stage = (int(k) for k in key.split(","))
        rows = mf.rungs[bracket + stage]
        for _, configs in groups:
            if any((config_key(to_dict(c)), rows) not in seen for c in configs):
                return True
    return False


def _rows_or(budget: float | None, mf: MultiFidelity) -> int:
    rows = trial_rows(budget, mf)
    return mf.max_rows if rows is None else rows


def _next(state: SearchState, space, settings: SearchSettings, running: dict):
    """The initial design's next trial, or ``None`` when it is over (for good)."""
    if not state.designing or settings.initial_design is None:
        state.designing = False
        return None
    from smac.runhistory.dataclasses import TrialInfo

    tried = [(t.config, t.loss if t.ok else np.inf) for t in state.trials]
    tried += [(to_dict(info.config), None) for info, _ in running.values()]
    config = _designed(state, space, settings, tried)
    if config is None:
        state.designing = False
        return None
    return TrialInfo(config=configuration(space, config), seed=settings.seed)


def _designed(state: SearchState, space, settings: SearchSettings,
              tried: Sequence[tuple[dict, float | None]]) -> dict | None:
    """The initial design's next configuration (completed, its origin noted), or ``None``."""
    config = settings.initial_design(tried)
    if config is None:
        return None
    config = complete(space, config)  # a stored config means the root-level defaults
    state.portfolio.add(config_key(config))
    origin = getattr(settings.initial_design, "origin", None)  # see InitialDesign.origin
    state.origins[config_key(config)] = origin(config) if origin else PORTFOLIO_ORIGIN
    return config


def _initial_configs(state: SearchState, space, settings: SearchSettings) -> list:
    """All of the initial design's configurations at once, for SMAC's initial design
    (under successive halving they enter at the lowest rung, as SMAC's own do)."""
    state.designing = False
    if settings.initial_design is None:
        return []
    configs, tried = [], []
    while (config := _designed(state, space, settings, tried)) is not None:
        tried.append((config, None))
        configs.append(configuration(space, config))
    return configs


def _keep_below(state: SearchState, fidelity: int | None) -> float:
    """The loss under which a trial of ``fidelity`` rows sends its fold models back: the
    best loss at the highest fidelity, for a trial of it; never below it; always above."""
    level, top = fidelity_level(fidelity), state.top_fidelity
    if level != top:
        return np.inf if level > top else -np.inf
    return min(t.loss for t in state.successes if fidelity_level(t.fidelity) == top)


def in_order(configs: Sequence[dict]) -> InitialDesignFn:
    """An initial design handing out ``configs`` in order (those not tried yet)."""
    def next_config(tried: Sequence[tuple[dict, float | None]]) -> dict | None:
        seen = {config_key(c) for c, _ in tried}
        return next((dict(c) for c in configs if config_key(c) not in seen), None)

    return next_config


def _ask(smac):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SMAC's local search warns on empty means
        return smac.ask()


def _record(state: SearchState, result: JobResult, info, started: float,
            full_rows: int | None = None) -> None:
    from smac.runhistory.dataclasses import TrialValue
    from smac.runhistory.enumerations import StatusType

    outcome = result.value if result.ok else None
    config = to_dict(info.config)
    rows = trial_rows(info.budget, state.multi_fidelity)
    fidelity = full_rows if rows is None else rows
    key = config_key(config)
    trial = Trial(
        id=len(state.trials),
        family=str(config[ROOT]),
        config=config,
        origin=state.origins.get(key, "smac"),
        status=result.status,
        loss=outcome.loss if outcome else None,
        fit_time=outcome.fit_time if outcome else None,
        predict_time=outcome.predict_time if outcome else None,
        wall_time=result.wall_time,
        error=result.error,
        loss_std=outcome.loss_std if outcome else None,
        fidelity=fidelity,
        promoted=any(config_key(t.config) == key and fidelity_level(t.fidelity)
                     < fidelity_level(fidelity) for t in state.trials),
        trees=result.job.run.trees,  # the share its evaluation trained
    )
    if outcome is not None:  # before the trial is listed: an interrupt may come in between
        state.predictions[trial.id] = outcome.predictions
        if outcome.models is not None and trial.loss <= _keep_below(state, fidelity):
            state.best_models = (trial.id, outcome.models)
    state.trials.append(trial)
    state.untold.append((info, trial))
    worst = max((t.loss for t in state.successes), default=None)
    if worst is None:
        return  # failures wait for a first success to be priced
    for pending, t in state.untold:
        cost = t.loss if t.ok else worst
        status = StatusType.SUCCESS if t.ok else StatusType.CRASHED
        state.smac.tell(pending, TrialValue(cost=cost, time=t.wall_time, status=status), save=False)
    state.untold.clear()
