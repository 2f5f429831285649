"""Bayesian optimisation with SMAC3 over the CASH space (the only module importing SMAC).

SMAC is used through ask/tell: trials run on an :class:`~autometa.pool.Executor`, the
next configuration is asked for while the current one runs, and every trial —
successful or not — becomes a :class:`Trial` record. Failures are told to SMAC at the
cost of the worst success (once there is one).

With :class:`MultiFidelity` settings, SMAC's successive halving (or Hyperband)
intensifier chooses the trials and their fidelity: SMAC's budget is the number of training
rows per split (see :meth:`autometa.evaluation.TaskData.train_rows`). The initial design's
configurations then enter SMAC's own initial design, so they start at the lowest rung and
are promoted like any other; only the highest fidelity's trials are
:attr:`SearchState.finalists`, the ensemble's candidates.

Ctrl-C (``KeyboardInterrupt``) ends a search that has a successful trial early: the
running trials are dropped and the state says ``interrupted``, so the caller can go on
with the trials so far. Before any success, the interrupt propagates.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ConfigSpace import ConfigurationSpace

from autometa.evaluation import Evaluation
from autometa.pool import Executor
from autometa.records import Trial, config_key, fidelity_level, finalists
from autometa.sandbox import Job, JobResult
from autometa.space import ROOT, complete, configuration, to_dict

PORTFOLIO_ORIGIN = "portfolio"

InitialDesignFn = Callable[[Sequence[tuple[dict, float | None]]], dict | None]
INTENSIFIERS = ("successive_halving", "hyperband")
ETA = 3  # successive halving keeps a third of a rung's configurations for the next


@dataclass(frozen=True)
class MultiFidelity:
    """Successive halving over training rows.

    Attributes
    ----------
    intensifier : {"successive_halving", "hyperband"}
        SMAC's intensifier.
    max_rows : int
        Training rows per split of the highest rung (all rows).
    n_rungs : int
        Rungs of the longest bracket (at least 2); rung ``k`` from the top trains on
        ``max_rows / eta**k`` rows.
    eta : int
        One in ``eta`` configurations of a rung is promoted to the next.
    """

    intensifier: str
    max_rows: int
    n_rungs: int
    eta: int = ETA

    def __post_init__(self) -> None:
        if self.intensifier not in INTENSIFIERS:
            raise ValueError(f"intensifier must be one of {INTENSIFIERS}, got "
                             f"{self.intensifier!r}.")
        if self.n_rungs < 2 or self.eta < 2:
            raise ValueError(f"successive halving needs n_rungs >= 2 and eta >= 2, got "
                             f"{self.n_rungs} and {self.eta}.")

    @property
    def rungs(self) -> list[int]:
        """Training rows of each rung of the longest bracket, lowest first."""
        return [round(self.max_rows / self.eta ** k) for k in range(self.n_rungs - 1, -1, -1)]


@dataclass(frozen=True)
class SearchSettings:
    """How long and how a search runs.

    ``deadline`` is an instant of ``clock``; ``reserve`` is called with the trials so far
    and returns the seconds to keep free before it (for refitting). ``initial_design``,
    while it returns configurations, chooses the trials instead of SMAC: it is called
    with the (config, loss) pairs tried so far (loss ``inf`` for a failure, ``None``
    while running) and returns the next configuration, or ``None`` when done.
    ``surrogate(space, seed)`` makes SMAC's model (default: :func:`random_forest`; see
    :mod:`autometa.surrogate`).
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


def random_forest(space: ConfigurationSpace, seed: int):
    """SMAC's random forest, made cheap: its default uses all cores and preallocates 2**20
    leaves per tree, which costs about a second per retraining; this one milliseconds."""
    from smac.model.random_forest import RandomForest

    return RandomForest(space, log_y=True, n_trees=10, ratio_features=1.0, min_samples_split=2,
                        min_samples_leaf=1, max_leaf_nodes=None, n_jobs=1, seed=seed)


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
        """The successful trials of the highest fidelity (see :func:`finalists`)."""
        return finalists(self.trials)

    @property
    def best_loss(self) -> float:
        """The lowest loss of the :attr:`finalists` (``inf`` before a success)."""
        return min((t.loss for t in self.finalists), default=np.inf)


def make_smac(space: ConfigurationSpace, settings: SearchSettings, output: Path,
              initial_configs: Sequence = ()):
    """SMAC's hyperparameter-optimisation facade for ask/tell use (``initial_configs``:
    configurations SMAC's initial design starts with)."""
    from smac import HyperparameterOptimizationFacade as HPO
    from smac import Scenario

    scenario = Scenario(
        space,
        deterministic=True,
        n_trials=10**6,
        seed=settings.seed,
        output_directory=output,
        **scenario_budgets(settings.multi_fidelity),
    )
    initial = HPO.get_initial_design(scenario, n_configs=settings.n_random_initial,
                                     additional_configs=list(initial_configs))
    model = (settings.surrogate or random_forest)(space, settings.seed)
    return HPO(
        scenario,
        target_function=None,
        model=model,
        acquisition_maximizer=in_stable_order(HPO.get_acquisition_maximizer(
            scenario, challengers=2000, local_search_iterations=5
        )),
        initial_design=initial,
        intensifier=make_intensifier(scenario, settings),
        logging_level=logging.ERROR,
        overwrite=True,
    )


def in_stable_order(maximizer):
    """``maximizer`` with its local search started from the same points in the same order
    in every process.

    SMAC's local search dedupes its start points through a ``set`` of configurations,
    whose order follows string hashing, which Python seeds anew in every process: the
    same seed gave other trials from one run of a program to the next. The start points
    are put in the order of their vectors instead.
    """
    local = getattr(maximizer, "_local_search", None)
    starts = getattr(local, "_get_initial_points", None)
    if starts is None:
        return maximizer

    def ordered(*args, **kwargs):
        return sorted(starts(*args, **kwargs), key=_vector_key)

    local._get_initial_points = ordered
    return maximizer


def _vector_key(config) -> tuple[float, ...]:
    return tuple(np.nan_to_num(config.get_array(), nan=-1.0))


def scenario_budgets(multi_fidelity: MultiFidelity | None) -> dict[str, float]:
    """SMAC's ``Scenario`` budgets: the rows of the lowest and of the highest rung."""
    if multi_fidelity is None:
        return {}
    mf = multi_fidelity  # SMAC counts floor(log_eta(max / min)) + 1 rungs:
    low = mf.max_rows / mf.eta ** (mf.n_rungs - 0.5)  # halfway, safe from rounding
    return {"min_budget": low, "max_budget": float(mf.max_rows)}


def make_intensifier(scenario, settings: SearchSettings):
    """One evaluation per configuration, or successive halving / Hyperband over rows."""
    from smac import HyperparameterOptimizationFacade as HPO
    from smac.intensifier import Hyperband, SuccessiveHalving

    mf = settings.multi_fidelity
    if mf is None:
        return HPO.get_intensifier(scenario, max_config_calls=1)
    kind = Hyperband if mf.intensifier == "hyperband" else SuccessiveHalving
    return kind(scenario, eta=mf.eta, seed=settings.seed)


def trial_rows(budget: float | None, multi_fidelity: MultiFidelity | None) -> int | None:
    """Training rows per split of a trial SMAC gave ``budget`` (``None``: all rows)."""
    if multi_fidelity is None or budget is None or round(budget) >= multi_fidelity.max_rows:
        return None
    return round(budget)


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
        done = len(state.trials) - start_count + len(running)
        return settings.max_evals is None or done < settings.max_evals

    while True:
        while pool.idle() and more() and clock() < end() - 0.2 and not _hold(state, running):
            info = asked or _next(state, space, settings, running) or _ask(smac)
            asked = None
            trial_id = len(state.trials) + len(running)
            rows = trial_rows(info.budget, state.multi_fidelity)
            below = _keep_below(state, settings.full_rows if rows is None else rows)
            evaluation = Evaluation(to_dict(info.config), settings.seed, settings.n_threads,
                                    keep_models_below=below, rows=rows)
            running[trial_id] = (info, clock())
            pool.submit(Job(trial_id, evaluation, end(), settings.trial_time_limit,
                            settings.memory_limit, settings.n_threads))
        if not running:
            return
        if asked is None and more() and not state.designing and not state.multi_fidelity:
            asked = _ask(smac)  # while the current trials run (successive halving: after
            # the results are told, so that a finished rung promotes before the next opens)
        for result in pool.wait(timeout=max(0.0, end() - clock())):
            _record(state, result, *running.pop(result.job.key), settings.full_rows)
            if on_trial is not None:
                on_trial(state.trials[-1])
        if clock() >= end():
            for job in pool.cancel():
                info, started = running.pop(job.key)
                result = JobResult(job, "timeout", error="stopped at the end of the time budget",
                                   wall_time=clock() - started)
                _record(state, result, info, started, settings.full_rows)
            return


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
        rows = round(mf.max_rows / mf.eta ** (mf.n_rungs - 1 - bracket - stage))
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
    return state.best_loss


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
