"""From trials to the final predictor: ensemble selection, then refitting the members.

The ensembler is pluggable: anything with a ``weights(state, data)`` method
(:class:`Ensembler`) can replace :class:`GreedyEnsembler`, the default.

After a holdout search over fidelities the members' trials trained on different row
counts (a slow family's best on a lower rung than a fast one's), and the refits grow
them by different factors, so weights chosen on the trials' validation predictions
misjudge the refit members. There the refits leave the validation rows out (see
:func:`holds_out`) and an ensembler with a ``reweigh`` method chooses the weights again
on the refit members' own validation predictions.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from autometa.ensemble import Ensemble, Member, ensemble_selection
from autometa.evaluation import Refit, TaskData, predict_pipeline
from autometa.latency import LatencyLimit, trial_latency
from autometa.plan import REFIT_SAFETY, full_refit_seconds, refit_size, thread_speedup
from autometa.pool import Executor, run_jobs
from autometa.records import Trial
from autometa.sandbox import Job, trim_heap
from autometa.search import SearchState
from autometa.task import CLASSIFICATION
from autometa.weights import weights_of

SOUNDNESS_ROWS = 500  # training rows a refit member is checked on
# a regression member's predictions are clipped to the training target's range widened by
# this share of its span: wide enough to keep a model's honest extrapolation (a test target
# a little beyond the training ones), narrow enough to stop a runaway one (an MLP put a
# diamonds price at 108,270, six times the largest training price)
RANGE_MARGIN = 0.25
HELD_OUT_SHARE = 0.1  # the refits after a holdout search over fidelities leave out the
# validation rows when they are at most this share of all rows
MEMBER_GAIN = 0.5  # under a rank metric, an ensemble member gains at least this share of
# the best trial's gain over predicting the class shares


class Ensembler(Protocol):
    """Chooses the ensemble: a weight per trial id, from the trials' validation predictions."""

    def weights(self, state: SearchState, data: TaskData) -> dict[int, float]:
        """Non-zero weights by trial id (``state.predictions`` holds the predictions).

        An ensembler may also have ``reweigh(predictions, data) -> dict[int, float]``:
        weights chosen again from the validation predictions (by trial id) of the refit
        members, when the refits left the validation rows out (see :func:`holds_out`).
        """


@dataclass(frozen=True)
class GreedyEnsembler:
    """Greedy ensemble selection (Caruana et al., 2004) over the ``nbest`` best trials
    (see :func:`candidates`), ``size`` steps with replacement; under a ``latency`` limit,
    only trials whose estimated prediction times add up to less than it. The earliest
    nested ensemble within ``tolerance`` (relative) of the best validation loss is kept
    (see :func:`autometa.ensemble.ensemble_selection`)."""

    size: int = 50
    nbest: int = 50
    latency: LatencyLimit | None = None
    tolerance: float = 0.0

    def weights(self, state: SearchState, data: TaskData) -> dict[int, float]:
        return select_weights(state, data, self.size, self.nbest, self.latency,
                              self.tolerance)

    def reweigh(self, predictions: Mapping[int, np.ndarray], data: TaskData
                ) -> dict[int, float]:
        """Weights chosen again among the refit members from their validation
        ``predictions``, starting from the best one alone (a subset of members fits any
        latency limit the first choice did)."""
        ids = list(predictions)
        y_val, w_val = data.y[data.val_index], data.val_weight
        weights = ensemble_selection([predictions[i] for i in ids],
                                     lambda p: data.metric.loss(y_val, p, w_val),
                                     size=self.size, n_init=1, tolerance=self.tolerance)
        return {i: float(w) for i, w in zip(ids, weights, strict=True) if w > 0}


def select_weights(state: SearchState, data: TaskData, size: int, nbest: int,
                   latency: LatencyLimit | None = None, tolerance: float = 0.0
                   ) -> dict[int, float]:
    """Ensemble weight per trial id (only non-zero weights)."""
    ok = candidates(state, data)[:nbest]
    if not ok:
        raise RuntimeError("no trial succeeded")
    costs, limit = None, float("inf")
    if latency is not None and latency.seconds_per_row is not None:
        ok, costs = affordable(ok, data, latency)
        limit = latency.seconds_per_row
    y_val, w_val = data.y[data.val_index], data.val_weight
    preds = [state.predictions[t.id] for t in ok]
    weights = ensemble_selection(preds, lambda p: data.metric.loss(y_val, p, w_val), size=size,
                                 costs=costs, max_cost=limit, tolerance=tolerance)
    return {t.id: float(w) for t, w in zip(ok, weights, strict=True) if w > 0}


def affordable(ranked: list[Trial], data: TaskData, latency: LatencyLimit
               ) -> tuple[list[Trial], list[float]]:
    """The trials whose estimated seconds per row fit ``latency`` alone (the fastest one
    when none does), and their estimates."""
    n_val, n_splits = len(data.val_index), len(data.splits)
    costs = [trial_latency(t, n_val, n_splits, latency.batch_size) for t in ranked]
    fits = [i for i, c in enumerate(costs) if c <= latency.seconds_per_row]
    if not fits:
        fastest = int(np.argmin(costs))
        return [ranked[fastest]], [0.0]
    return [ranked[i] for i in fits], [costs[i] for i in fits]


def family_leaders(state: SearchState, data: TaskData, skip: set[str]) -> list[Trial]:
    """The best trial of each family not in ``skip``, best first: the members to try alone
    when none of the ensemble's fits a latency limit once refit (the trials' timings on
    their small validation folds tell little of a refit model's time on a batch: a refit
    forest is larger, nearest neighbours search more rows)."""
    leaders: dict[str, Trial] = {}
    for trial in candidates(state, data):
        if trial.family not in skip:
            leaders.setdefault(trial.family, trial)
    return list(leaders.values())


def candidates(state: SearchState, data: TaskData) -> list[Trial]:
    """The successful trials ensemble selection may use, best first: of the highest
    fidelity (see :attr:`SearchState.finalists`).

    Constant predictors only blur a blend. Under a metric that sees only the order of
    the probabilities (ROC AUC), so does any weak model, and worse: a near-constant one
    whose jitter breaks the blend's ties can take most of the weight, flattening the
    probabilities that ``predict`` thresholds. There a member must gain at least
    ``MEMBER_GAIN`` of the best trial's gain over predicting the class shares. (Under log
    loss such a gate left out members that helped.)
    """
    ranked = sorted(state.finalists, key=lambda t: t.loss)
    kept = gaining(ranked, data) if data.metric.ranks_only else informative(ranked, state)
    return kept or ranked


def informative(ranked: list[Trial], state: SearchState) -> list[Trial]:
    """The trials whose validation predictions are not constant."""
    return [t for t in ranked if np.ptp(state.predictions[t.id], axis=0).max() > 0]


def gaining(ranked: list[Trial], data: TaskData) -> list[Trial]:
    """The trials (best first) that gain at least ``MEMBER_GAIN`` of the best one's gain
    over predicting the prior."""
    if not ranked:
        return []
    y_val, w_val = data.y[data.val_index], data.val_weight
    chance = data.metric.loss(y_val, prior_prediction(y_val, data.n_classes, w_val), w_val)
    floor = MEMBER_GAIN * max(chance - ranked[0].loss, 0.0)
    return [t for t in ranked if chance - t.loss > floor]


def prior_prediction(y: np.ndarray, n_classes: int | None,
                     sample_weight: np.ndarray | None = None) -> np.ndarray:
    """The constant prediction of the target's distribution: class shares, or the mean
    (weighted by ``sample_weight`` when given)."""
    if n_classes is None:
        return np.full(len(y), float(np.average(y, weights=sample_weight)))
    counts = np.bincount(y, weights=sample_weight, minlength=n_classes)
    shares = counts / counts.sum()
    return np.tile(shares, (len(y), 1))


def holds_out(state: SearchState, data: TaskData) -> bool:
    """Whether the refits leave the validation rows out: after a holdout search over
    fidelities whose validation rows are at most ``HELD_OUT_SHARE`` of all rows."""
    return (state.multi_fidelity is not None and len(data.splits) == 1
            and len(data.val_index) <= HELD_OUT_SHARE * len(data.y))


def validation_predictions(ensemble: Ensemble, data: TaskData) -> dict[int, np.ndarray]:
    """Each member's predictions of the validation rows, by trial id."""
    X_val = data.X.iloc[data.val_index]
    return {m.trial: ensemble.member_predict(m, X_val) for m in ensemble.members}


def refit_members(weights: dict[int, float], state: SearchState, data: TaskData,
                  pool: Executor, seed: int, deadline: float, cores: int = 1,
                  clock=time.monotonic, hold_out: bool = False) -> Ensemble:
    """Refit the weighted trials before ``deadline`` on all rows (but the validation rows
    when ``hold_out``) or as many as time allows; drop those that miss it.

    Each member may take a share of the time left (see :func:`time_shares`),
    ``REFIT_SAFETY`` to spare: with one worker, ensemble weights 0.9 and 0.1 give the
    first 90 % of the time and the second 10 %, unless the second needs less for all
    its rows; with two workers, each member all of it. With one refit at a time they run
    in :func:`refit_order`, the heaviest member that cannot have all its rows last, sized
    from the time actually left (the others' estimates err both ways); a lighter refit
    before a heavier one is stopped where it would leave the heavier one less than it
    would have had first (see :func:`allowance`).

    With ``cores`` > 1 (a local pool's workers, one core each), the refits run instead
    one at a time on all ``cores`` threads when that gives the heaviest member more rows
    (see :func:`one_at_a_time`): the case of one slow member beside cheap ones, whose
    refit would otherwise train on one core while the others idle.
    """
    trials = {t.id: t for t in state.trials}
    fitted, errors, rows = {}, {}, {}
    n_rows = len(data.y) - (len(data.val_index) if hold_out else 0)
    needs = {i: REFIT_SAFETY * full_refit_seconds(trials[i], data, state.trials, n_rows)
             for i in weights}
    workers, speed = schedule(needs, weights, {i: trials[i].family for i in weights}, cores,
                              pool.capacity, deadline - clock())
    needs = {i: needs[i] / speed[i] for i in weights}
    order = refit_order(needs, weights, deadline - clock(), workers)

    def jobs():
        left_out = set()
        for trial in (trials[i] for i in order):
            left = deadline - clock()
            unfinished = {i: weights[i] for i in order
                          if i not in fitted and i not in errors and i not in left_out}
            shares = time_shares(needs, unfinished, left, workers)
            size, expected = refit_size(trial, data,
                                        shares[trial.id] * speed[trial.id] / REFIT_SAFETY,
                                        state.trials, n_rows)
            rows[trial.id] = n_rows if size is None and hold_out else size
            allowed = allowance(shares, weights, trial.id, left) if workers == 1 else left
            if expected / speed[trial.id] > allowed and (fitted or len(unfinished) > 1):
                left_out.add(trial.id)  # it would miss the deadline or a heavier's share
                continue
            n_threads = cores if speed[trial.id] > 1 else 1
            job = Refit(trial.config, seed, n_threads, rows[trial.id], hold_out)
            yield Job(trial.id, job, deadline, time_limit=allowed, n_threads=n_threads)

    for result in run_jobs(pool, jobs(), deadline, clock, max_running=workers):
        if result.ok and sound(result.value, trials[result.job.key], data):
            fitted[result.job.key] = result.value
        else:
            errors[result.job.key] = result.error or "the refit model fails on its own rows"
    trim_heap()  # the refit members' transfer buffers
    if not fitted:
        return best_trial_ensemble(state, data, errors)
    members = tuple(Member(i, weights[i], fitted[i], rows[i]) for i in sorted(fitted))
    return Ensemble(members, data.task, data.n_classes, value_range=target_range(data))


def refit_order(needs: Mapping[int, float], weights: Mapping[int, float], seconds: float,
                workers: int) -> list[int]:
    """The order of the refits: heaviest first; but with one at a time (``workers`` 1),
    first the members whose share of ``seconds`` covers all their rows (heaviest first),
    then the others from the lightest, so that the heaviest of those refits last, on the
    time the others actually leave (see :func:`time_shares`)."""
    heaviest_first = sorted(weights, key=lambda i: -weights[i])
    if workers > 1:
        return heaviest_first
    shares = time_shares(needs, weights, seconds)
    limited = [i for i in heaviest_first if shares[i] < needs[i]]
    return [i for i in heaviest_first if i not in limited] + limited[::-1]


def allowance(shares: Mapping[int, float], weights: Mapping[int, float], key: int,
              seconds: float) -> float:
    """The seconds of ``seconds`` left the refit of ``key`` may take when the refits run
    one at a time: what the heavier members still to refit leave it, each keeping the
    time it would be sized for of its share had it gone first (the share less
    ``REFIT_SAFETY``'s spare), so at worst it trains on 1 / ``REFIT_SAFETY`` of the rows
    it would have had; the rest is this refit's margin for a low estimate."""
    heavier = sum(s for i, s in shares.items() if weights[i] > weights[key])
    return seconds - heavier / REFIT_SAFETY


def schedule(needs: Mapping[int, float], weights: Mapping[int, float],
             families: Mapping[int, str], cores: int, capacity: int, seconds: float
             ) -> tuple[int, dict[int, float]]:
    """How the refits run: how many at once, and each one's speed-up over one thread.
    ``capacity`` at once on one thread each, or one at a time on all ``cores`` (each
    refit of a family that gains from threads) when :func:`one_at_a_time` says so."""
    faster = {i: thread_speedup(families[i], cores) for i in needs}
    if one_at_a_time(needs, weights, faster, seconds, capacity):
        return 1, faster
    return capacity, dict.fromkeys(needs, 1.0)


def one_at_a_time(needs: Mapping[int, float], weights: Mapping[int, float],
                  speedups: Mapping[int, float], seconds: float, capacity: int) -> bool:
    """Whether refits one at a time, each faster by its ``speedups`` (on all of the
    ``capacity`` workers' cores), give the heaviest member more one-thread seconds of
    ``seconds`` than ``capacity`` refits at once on one thread each (see
    :func:`time_shares`; ``needs`` in one-thread seconds)."""
    if capacity < 2 or all(s <= 1.0 for s in speedups.values()):
        return False
    heaviest = max(weights, key=weights.__getitem__)
    apart = time_shares(needs, weights, seconds, capacity)[heaviest]
    faster = {i: needs[i] / speedups[i] for i in needs}
    return time_shares(faster, weights, seconds)[heaviest] * speedups[heaviest] > apart


def time_shares(needs: Mapping[int, float], weights: Mapping[int, float], seconds: float,
                capacity: int = 1) -> dict[int, float]:
    """The seconds each member's refit may take of ``seconds`` on ``capacity`` workers.

    In proportion to its weight, at most ``seconds``; but a member whose refit on all
    rows ``needs`` less takes only that, and the others share what it leaves (so a cheap
    member beside a slow one trains on all rows, and the slow one on more).

    Parameters
    ----------
    needs : mapping of int to float
        Seconds each member needs for all rows.
    weights : mapping of int to float
        Ensemble weights of the members to share among (positive).
    seconds : float
        Time left.
    capacity : int
        Refits that run at once.
    """
    pool, open_, shares = seconds * capacity, dict(weights), {}
    while open_:
        total = sum(open_.values())
        enough = {i: needs[i] for i, w in open_.items()
                  if needs[i] <= min(seconds, pool * w / total)}
        if not enough:
            break
        shares |= enough
        pool -= sum(enough.values())
        open_ = {i: w for i, w in open_.items() if i not in enough}
    total = sum(open_.values())
    return shares | {i: min(seconds, max(pool, 0.0) * w / total) for i, w in open_.items()}


def sound(pipeline, trial: Trial, data: TaskData) -> bool:
    """Whether a refit pipeline scores on (a sample of) its own training rows at least
    halfway from predicting the prior to its trial's validation loss.

    A refit on all rows occasionally diverges where its fold models did not (seen with
    LightGBM multiclass: validation log loss 0.03, test log loss 23); such a member is
    left out rather than allowed to wreck the blend.
    """
    if not hasattr(pipeline, "predict"):
        return True  # not a model (test doubles)
    rows = data.val_index[:SOUNDNESS_ROWS]
    y, weights = data.y[rows], weights_of(data.sample_weight, rows)
    try:
        pred = predict_pipeline(pipeline, data.X.iloc[rows], data.task, data.n_classes)
    except Exception:  # any library's failure: it cannot predict
        return False
    try:
        own = data.metric.loss(y, pred, weights)
        chance = data.metric.loss(y, prior_prediction(y, data.n_classes, weights), weights)
    except (ValueError, FloatingPointError):
        return True  # unscorable on the sample (e.g. one class): no evidence against it
    return bool(np.isfinite(own)) and own <= trial.loss + 0.5 * max(chance - trial.loss, 0.0)


def best_trial_ensemble(state: SearchState, data: TaskData, errors: dict | None = None
                        ) -> Ensemble:
    """The best trial's fold models alone (no refit finished in time, or none was run)."""
    if state.best_models is None:
        detail = "; ".join(f"trial {k}: {v}" for k, v in (errors or {}).items()) or "out of time"
        raise RuntimeError(f"Refitting the selected pipelines failed ({detail}).")
    trial, models = state.best_models
    rows = next((t.fidelity for t in state.trials if t.id == trial), None)
    return Ensemble((Member(trial, 1.0, models, rows),), data.task, data.n_classes,
                    value_range=target_range(data))


def target_range(data: TaskData) -> tuple[float, float] | None:
    """The range a regression member may predict (``None`` for classification): the
    training target's, widened by ``RANGE_MARGIN`` of its span on each side."""
    if data.task == CLASSIFICATION:
        return None
    low, high = float(np.min(data.y)), float(np.max(data.y))
    margin = RANGE_MARGIN * (high - low)
    return low - margin, high + margin
