"""The whole fit, top to bottom: :func:`run_automl` follows a :class:`FitPlan` on a table.

No scikit-learn estimator is involved: the estimators validate their parameters, build
the plan, borrow an executor, call :func:`run_automl` and copy the :class:`FitResult`
onto themselves. Benchmarks and other front ends call it directly.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from ConfigSpace import ConfigurationSpace

from autometa import metafeatures as mf
from autometa.calibration import ensemble_temperature
from autometa.callbacks import Callback, CallbackList
from autometa.components import registry
from autometa.cost import CostModel
from autometa.ensemble import Ensemble
from autometa.errors import NoSuccessfulTrial
from autometa.evaluation import TaskData
from autometa.fidelity import (
    FAMILY_SHARE,
    SLOW_SHARE,
    choose_rungs,
    row_floor,
    split_orders,
)
from autometa.final import (
    Ensembler,
    GreedyEnsembler,
    best_trial_ensemble,
    family_leaders,
    holds_out,
    refit_members,
    validation_predictions,
)
from autometa.initial_design import InitialDesign, portfolio_design
from autometa.latency import (
    fastest_serving,
    latency_batch,
    measure_ensemble,
    members_share,
    trial_latency,
    trim_to_limit,
    typing_latency,
)
from autometa.leaderboard import leaderboard_frame
from autometa.metrics import Metric
from autometa.plan import FitPlan
from autometa.pool import Executor
from autometa.portfolio import Portfolio, PortfolioError
from autometa.portfolio import load as load_portfolio
from autometa.records import Trial, finalists
from autometa.search import SearchSettings, SearchState, run_search
from autometa.smac_setup import MultiFidelity
from autometa.space import build_space, configuration, root_defaults, select_families
from autometa.surrogate import choose_surrogate, surrogate_weights
from autometa.table import Table
from autometa.threshold import ensemble_threshold

FALLBACK_TRIES = 3  # single members refit and timed when no ensemble member fits a limit
MEASURE_CALLS = 4  # the latency measurement costs about this many predictions of its batch


@dataclass(frozen=True)
class FitResult:
    """What a fit produced.

    Attributes
    ----------
    trials : list of Trial
        Every trial, in the order they finished.
    ensemble : Ensemble
        The final predictor.
    metric : Metric
        The metric optimised.
    seed : int
        The seed the search ran with (a continued search keeps it).
    interrupted : bool
        The search was ended early (Ctrl-C); the ensemble is the best trial's models.
    fit_time : float
        Seconds from the plan's start to the end of the fit.
    metafeatures : dict or None
        The task's meta-features (``None`` unless ``meta_learning="auto"``).
    initial_configs : list of dict
        The initial design's configurations, each with the reason it was chosen.
    state : SearchState
        The search, to continue it (holds SMAC and fold models; not for pickling).
    data : TaskData or None
        The data the trials ran on (its splits and metric).
    threshold : float or None
        The decision threshold on the probability of class 1 (binary tasks; tuned on
        the ensemble's validation predictions when the metric scores labels, else 0.5);
        ``None`` for multiclass and regression.
    predict_latency : float or None
        The measured seconds per row of typing a batch of training rows (of the plan's
        latency batch size) and of the ensemble's prediction of it; ``None`` when the
        budget left no time to measure.
    temperature : float or None
        The temperature scaling the ensemble's probabilities (classification; fitted on
        its validation predictions when the metric scores their level, such as log
        loss, and kept only when it lowers the loss on held-out halves of them, else 1);
        ``None`` for regression.
    """

    trials: list[Trial]
    ensemble: Ensemble
    metric: Metric
    seed: int
    interrupted: bool
    fit_time: float
    metafeatures: dict[str, float] | None
    initial_configs: list[dict[str, Any]]
    state: SearchState = field(repr=False)
    data: TaskData | None = field(default=None, repr=False)
    threshold: float | None = None
    predict_latency: float | None = None
    temperature: float | None = 1.0

    @property
    def best(self) -> Trial:
        """The successful trial with the lowest validation loss (of the highest fidelity)."""
        return min(finalists(self.trials), key=lambda t: t.loss)

    @property
    def surrogate_weights(self) -> pd.DataFrame | None:
        """The RGPE weights of the source tasks and the target over the search (``None``
        with SMAC's random forest; see :func:`autometa.surrogate.surrogate_weights`)."""
        return surrogate_weights(self.state.smac)

    def leaderboard(self) -> pd.DataFrame:
        """Every trial, best first, with its ensemble weight (see :mod:`autometa.leaderboard`)."""
        return leaderboard_frame(self.trials, self.ensemble.weights)


def run_automl(table: Table, plan: FitPlan, *, executor: Executor,
               ensembler: Ensembler | None = None, callbacks: Sequence[Callback] = (),
               previous: FitResult | None = None) -> FitResult:
    """Search pipelines for ``table`` as ``plan`` says, then ensemble and refit the best.

    Parameters
    ----------
    table : Table
        The validated training data.
    plan : FitPlan
        Budget, deadlines, limits and settings (its ``n_workers`` should be the
        executor's capacity).
    executor : Executor
        Where trials and refits run (started; its data is set here).
    ensembler : Ensembler, optional
        Chooses the ensemble weights (default: :class:`GreedyEnsembler` under the plan's
        latency limit).
    callbacks : sequence of Callback
        Told of the start, of every trial and of the end.
    previous : FitResult, optional
        A fit on the same data to continue: its trials are kept and SMAC goes on.

    Returns
    -------
    FitResult

    Raises
    ------
    NoSuccessfulTrial
        When no trial succeeded.
    """
    events = CallbackList(callbacks)
    data = TaskData.from_table(table, resampling=plan.resampling, seed=plan.seed,
                               metric=plan.metric, specs=registry(plan.extra_models),
                               budget=plan.budget)
    result = None
    events.on_start(plan, data)
    try:
        families = select_families(table.task, data.specs, plan.include, plan.exclude,
                                   weighted=table.sample_weight is not None)
        space = build_space(table.task, families, seed=plan.seed,
                            target_transforms=plan.target_transforms)
        names = [f.name for f in families]
        rungs = previous.state.multi_fidelity if previous else multi_fidelity(data, plan, names)
        data = data.capped(plan.seed, rungs and rungs.max_rows)
        if rungs is not None:
            data = replace(data, orders=split_orders(data.X, data.y, data.task, data.splits,
                                                     plan.proxy_subsets, plan.seed))
        executor.set_data(data)
        if previous is None:
            metafeatures, design = initial_design(data, plan, names, space, rungs)
        else:
            metafeatures, design = previous.metafeatures, None
        surrogate = None if previous is not None else \
            search_surrogate(plan, data, metafeatures)
        cost = None if rungs is None else proposal_cost(data, plan, names, space)
        state = run_search(space, executor,
                           search_settings(plan, data, design, rungs, surrogate, cost),
                           state=previous and previous.state, on_trial=events.on_trial)
        if not state.successes:
            raise NoSuccessfulTrial(state.trials, plan.budget)
        ensembler = ensembler or GreedyEnsembler(latency=plan.latency)
        typing = typing_latency(table.schema, table.raw_sample if table.raw_sample is not None
                                else data.X, plan.latency.batch_size, plan.seed)
        ensemble, predictions = final_ensemble(state, data, replace(
            plan, latency=members_share(plan.latency, typing)), executor, ensembler)
        temperature = calibration_temperature(ensemble, predictions, data, plan.seed)
        threshold = decision_threshold(ensemble, predictions, data, plan.seed, temperature)
        ensemble, latency = served_ensemble(ensemble, state, data, plan)
        latency = None if latency is None else latency + typing
        picks = previous.initial_configs if previous else [
            {"config": p.config, "reason": p.reason} for p in design.picks]
        result = FitResult(list(state.trials), ensemble, data.metric, plan.seed,
                           state.interrupted, time.monotonic() - plan.start, metafeatures,
                           picks, state, data, threshold, latency, temperature)
    finally:
        events.on_end(result)
    return result


def final_ensemble(state: SearchState, data: TaskData, plan: FitPlan, executor: Executor,
                   ensembler: Ensembler) -> tuple[Ensemble, Mapping[int, np.ndarray]]:
    """The ensembler's choice refitted by ``plan.hard_end`` (after Ctrl-C, the best trial's
    fold models at once), and the validation predictions of its members by trial id.
    Benchmarks call it several times on one search to compare ensemblers.

    When the refits leave the validation rows out (see :func:`autometa.final.holds_out`),
    the ensembler's ``reweigh`` chooses the weights again on the refit members' own
    validation predictions, and those are the ones returned; otherwise the trials'.
    """
    if state.interrupted:
        return best_trial_ensemble(state, data).served(plan.n_workers), state.predictions
    weights = ensembler.weights(state, data)
    hold_out = holds_out(state, data) and hasattr(ensembler, "reweigh")
    reweighing = validation_seconds(weights, state) if hold_out else 0.0  # kept for it
    ensemble = refit_members(weights, state, data, executor, plan.seed,
                             plan.hard_end - reweighing, local_cores(executor),
                             hold_out=hold_out).served(plan.n_workers)
    predictions = state.predictions
    if hold_out and time.monotonic() + validation_seconds(ensemble.weights, state) \
            < plan.hard_end:
        held_out = validation_predictions(ensemble, data)
        ensemble = ensemble.reweighed(ensembler.reweigh(held_out, data))
        predictions = {**state.predictions, **held_out}
    if plan.latency.seconds_per_row is None:
        return ensemble, predictions
    batch = latency_batch(data.X, plan.latency.batch_size, plan.seed)
    trimmed, fits = trim_to_limit(ensemble, batch, plan.latency, plan.n_workers)
    final = trimmed if fits else faster_single(trimmed, state, data, plan, executor, batch)
    return final, predictions


def local_cores(executor: Executor) -> int:
    """Cores a refit may use on its own: the executor's ``local_cores`` (the workers'
    on this machine), else one (a user's cluster, whose workers' cores are not known)."""
    return getattr(executor, "local_cores", 1)


def validation_seconds(members: Collection[int], state: SearchState) -> float:
    """Expected seconds for refits of the ``members`` (trial ids) to predict the
    validation rows: twice their trials' (a refit model is larger)."""
    trials = {t.id: t for t in state.trials}
    return 2 * sum(trials[i].predict_time or 0.0 for i in members)


def faster_single(ensemble: Ensemble, state: SearchState, data: TaskData, plan: FitPlan,
                  executor: Executor, batch) -> Ensemble:
    """The best of up to ``FALLBACK_TRIES`` trials of other families (see
    :func:`family_leaders`), each refit alone and timed on ``batch``, that fits the latency
    limit; else ``ensemble`` (one member over the limit)."""
    trials = {t.id: t for t in state.trials}
    slow = {trials[m.trial].family for m in ensemble.members}
    for trial in family_leaders(state, data, slow)[:FALLBACK_TRIES]:
        try:
            single = refit_members({trial.id: 1.0}, state, data, executor, plan.seed,
                                   plan.hard_end, local_cores(executor))
        except RuntimeError:  # the refit failed, and no fold models to fall back to
            continue
        if time.monotonic() > plan.hard_end:
            break
        if single.members[0].trial != trial.id:
            continue  # the refit failed
        single = single.served(plan.n_workers)
        if measure_ensemble(single, batch, plan.n_workers) <= plan.latency.seconds_per_row:
            return single
    return ensemble


def served_ensemble(ensemble: Ensemble, state: SearchState, data: TaskData, plan: FitPlan
                    ) -> tuple[Ensemble, float | None]:
    """``ensemble`` set to its faster way of predicting (see :func:`fastest_serving`) and
    its seconds per row on a batch of training rows, when the trials' prediction times say
    the measurement ends well before ``plan.hard_end``; else as it is, and ``None``."""
    batch_size = plan.latency.batch_size
    trials = {t.id: t for t in state.trials}
    n_val, n_splits = len(data.val_index), len(data.splits)
    expected = batch_size * sum(trial_latency(trials[m.trial], n_val, n_splits, batch_size)
                                for m in ensemble.members)
    if time.monotonic() + 2 * MEASURE_CALLS * expected > plan.hard_end:
        return ensemble, None
    batch = latency_batch(data.X, batch_size, plan.seed)
    return fastest_serving(ensemble, batch, plan.n_workers)


def calibration_temperature(ensemble: Ensemble, predictions: Mapping[int, np.ndarray],
                            data: TaskData, seed: int = 0) -> float | None:
    """The ensemble's temperature, from the validation ``predictions`` of its members by
    trial id (see :func:`autometa.calibration.ensemble_temperature`)."""
    return ensemble_temperature(ensemble.weights, predictions, data.y[data.val_index],
                                data.metric, data.n_classes, seed, data.val_weight)


def decision_threshold(ensemble: Ensemble, predictions: Mapping[int, np.ndarray],
                       data: TaskData, seed: int = 0, temperature: float | None = 1.0
                       ) -> float | None:
    """The ensemble's decision threshold, from the validation ``predictions`` of its
    members by trial id scaled by ``temperature`` (see
    :func:`autometa.threshold.ensemble_threshold`)."""
    return ensemble_threshold(ensemble.weights, predictions, data.y[data.val_index],
                              data.metric, data.n_classes, seed, temperature,
                              data.val_weight)


def initial_design(data: TaskData, plan: FitPlan, families: Collection[str],
                   space: ConfigurationSpace | None = None,
                   rungs: MultiFidelity | None = None
                   ) -> tuple[dict[str, float] | None, InitialDesign]:
    """The task's meta-features (for ``meta_learning="auto"``) and its initial design
    (its candidates completed with the root-level defaults of ``space``; configurations
    from the experience store only when they are valid in ``space``). Candidates are
    kept when affordable on the lowest fidelity of ``rungs`` (default: all rows)."""
    metafeatures = None
    if plan.meta_learning == "auto":
        metafeatures = mf.compute(data.X, data.y, data.task, categorical=data.categorical,
                                  seed=plan.seed)
    fit_rows = sum(len(train) for train, _ in data.splits)
    if rungs is not None:
        fit_rows = rungs.rungs[0] * len(data.splits)
    design = portfolio_design(data.task, plan.meta_learning, metafeatures,
                              plan.n_initial_configs, families, plan.portfolio,
                              (plan.affordable_seconds, fit_rows, data.n_classes),
                              n_rows=len(data.y),
                              defaults=None if space is None else root_defaults(space),
                              experience=plan.experience,
                              valid=None if space is None else in_space(space),
                              learner=learner_for(data.task, plan, metafeatures),
                              n_learned=plan.n_learned_configs, seed=plan.seed)
    return metafeatures, design


def learner_for(task: str, plan: FitPlan, metafeatures: Mapping | None):
    """The shipped hp-learner when the plan asks for its configurations (``None`` with a
    warning when it is missing or does not match the search space)."""
    if not plan.n_learned_configs or metafeatures is None:
        return None
    learner = shipped_learner(task)
    if learner is None:
        warnings.warn(f"No hp-learner for this version's {task} search space is installed "
                      "(`autometa portfolio build` trains it); the initial design uses the "
                      "portfolio alone.", UserWarning, stacklevel=4)
        return None
    return learner


def in_space(space: ConfigurationSpace):
    """Whether a configuration is a valid one of ``space``."""
    def valid(config) -> bool:
        try:
            configuration(space, config)
        except Exception:  # ConfigSpace raises ValueError and its own errors
            return False
        return True

    return valid


def search_surrogate(plan: FitPlan, data: TaskData, metafeatures: dict[str, float] | None):
    """The factory of SMAC's model (``None``: its random forest; see
    :func:`autometa.surrogate.choose_surrogate`); RGPE computes the task's meta-features
    when the initial design did not."""
    if plan.surrogate != "rgpe":
        return None
    if metafeatures is None:
        metafeatures = mf.compute(data.X, data.y, data.task, categorical=data.categorical,
                                  seed=plan.seed)
    return choose_surrogate(plan.surrogate, data.task, metafeatures, plan.portfolio,
                            plan.experience, data.n_classes,
                            learner=shipped_learner(data.task))


def shipped_learner(task: str):
    """The hp-learner shipped for ``task``'s search space (``None``: none matches it)."""
    from autometa.hplearner import installed
    from autometa.metalearning.build import space_for

    return installed(task, space_for(task))


def multi_fidelity(data: TaskData, plan: FitPlan, families: Collection[str]
                   ) -> MultiFidelity | None:
    """The search's rungs for ``plan.fidelity`` (see :func:`autometa.fidelity.choose_rungs`),
    from the portfolio candidates' measured seconds per row."""
    if plan.fidelity == "full":
        return None
    floor = max(row_floor(data.y[train], data.task) for train, _ in data.splits)
    return choose_rungs(plan.fidelity, plan.budget, data.full_rows, floor, len(data.splits),
                        timed_candidates(data, plan, families)[1], cap=data.search_cap)


def timed_candidates(data: TaskData, plan: FitPlan, families: Collection[str],
                     valid_rows: int | None = None) -> tuple[tuple[dict, ...], np.ndarray]:
    """The portfolio's candidates of ``families`` and their expected seconds per training
    row in all, validating on ``valid_rows`` rows per split if given (none when the
    portfolio cannot be read; see :meth:`Portfolio.expected_seconds`)."""
    source = _portfolio(data, plan, families)
    if source is None:
        return (), np.array([])
    return source.configs, source.expected_seconds(1.0, data.n_classes, valid_rows)


def _portfolio(data: TaskData, plan: FitPlan, families: Collection[str]) -> Portfolio | None:
    """The plan's portfolio of ``data``'s task, its candidates of ``families`` only
    (``None`` when it cannot be read)."""
    try:
        source = plan.portfolio if isinstance(plan.portfolio, Portfolio) else \
            load_portfolio(data.task, plan.portfolio)
    except PortfolioError:
        return None
    return source.only_families(families)


def proposal_cost(data: TaskData, plan: FitPlan, families: Collection[str],
                  space: ConfigurationSpace) -> CostModel:
    """The cost model that screens SMAC's proposals (its prior: the candidates' seconds
    per row of a split with the task's validation rows, see :mod:`autometa.cost`)."""
    source = _portfolio(data, plan, families)
    if source is None:
        return CostModel(space, (), (), seed=plan.seed)
    per_row = source.expected_seconds(1.0, data.n_classes, len(data.splits[0][1]))
    return CostModel(space, source.configs, per_row * len(data.splits), seed=plan.seed,
                     source_rows=source.split_rows, task=data.task)


def search_settings(plan: FitPlan, data: TaskData, design: InitialDesign | None,
                    rungs: MultiFidelity | None = None, surrogate=None,
                    cost: CostModel | None = None) -> SearchSettings:
    """The search's part of the plan; ``design`` chooses the first trials while it can
    (all at once under successive halving on ``rungs``), then SMAC learns with the model
    ``surrogate`` makes. Under successive halving, none of SMAC's proposals and a family's
    later configurations of the design (as ``cost`` foretells), nor promotions of
    configurations not the best of their rung (as their trials do) may take more than
    ``SLOW_SHARE`` of the budget (a family's best there ``FAMILY_SHARE``); a proposal no
    more than a portfolio candidate may either."""
    designed = design is not None and not design.done
    slow = SLOW_SHARE * plan.budget
    return SearchSettings(
        seed=plan.seed,
        deadline=plan.search_end,
        trial_time_limit=plan.trial_time_limit,
        memory_limit=plan.memory_limit,
        max_evals=plan.max_evals,
        initial_design=design if designed else None,
        n_random_initial=plan.n_random_initial(designed),
        reserve=lambda trials: plan.reserve(trials, data),
        surrogate=surrogate,
        multi_fidelity=rungs,
        full_rows=data.full_rows,
        cost=cost,
        proposal_seconds=min(plan.affordable_seconds, slow),
        repeat_seconds=slow,
        promotion_seconds=slow,
        family_promotion_seconds=FAMILY_SHARE * plan.budget,
    )
