"""Post-hoc ensemble selection (Caruana et al., 2004) and the weighted predictor.

:func:`ensemble_selection` is arrays in, weights out: greedy forward selection
with replacement, initialised with the best few models, on stored validation
predictions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, replace
from functools import cache

import numpy as np


def ensemble_selection(
    predictions: Sequence[np.ndarray],
    loss: Callable[[np.ndarray], float],
    size: int = 50,
    n_init: int = 3,
    best_nested: bool = True,
    costs: Sequence[float] | None = None,
    max_cost: float = float("inf"),
    tolerance: float = 0.0,
) -> np.ndarray:
    """Weights for ``predictions`` chosen by greedy forward selection with replacement.

    As in Caruana et al. (2004), the result is the best of the nested ensembles the
    steps build (the earliest, among equally good ones). Steps that do not lower the
    loss are thus dropped: under a rank metric such as ROC AUC, adding a (near)
    constant predictor changes nothing, and without this rule it would take every
    remaining step and flatten the blend's probabilities.

    Parameters
    ----------
    predictions : sequence of arrays
        Validation predictions of each candidate, all of one shape.
    loss : callable
        ``loss(prediction) -> float`` to minimise (lower is better).
    size : int
        Number of selection steps (the ensemble's total integer weight); 1 selects
        the single best candidate.
    n_init : int
        The best ``n_init`` candidates (by their own loss) start the ensemble.
    best_nested : bool
        Keep the best of the nested ensembles; ``False`` keeps the last one, every step
        counting (as auto-sklearn does).
    costs : sequence of float, optional
        A cost per candidate (e.g. its prediction time); the distinct candidates chosen
        cost at most ``max_cost`` together. Candidates costing more than ``max_cost``
        alone are never chosen (at least one candidate must fit).
    max_cost : float
        The most the chosen candidates may cost together.
    tolerance : float
        With ``best_nested``, keep the earliest nested ensemble (the one with the fewest
        members) whose loss is within ``tolerance * |best loss|`` of the best one's.

    Returns
    -------
    weights : ndarray of shape (n_candidates,)
        Non-negative weights summing to 1.
    """
    n = len(predictions)
    if n == 0:
        raise ValueError("ensemble_selection needs at least one candidate.")
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}.")
    stacked = np.stack([np.asarray(p, dtype=np.float64) for p in predictions])
    own = np.array([loss(p) for p in stacked])
    cost = np.zeros(n) if costs is None else np.asarray(costs, dtype=np.float64)
    if not (cost <= max_cost).any():
        raise ValueError("no candidate costs less than max_cost.")
    counts = np.zeros(n, dtype=np.int64)

    def affordable(i: int) -> bool:
        return counts[i] > 0 or cost[counts > 0].sum() + cost[i] <= max_cost

    for i in np.argsort(own, kind="stable"):
        if (counts > 0).sum() < max(1, min(n_init, size)) and affordable(i):
            counts[i] += 1
    total = stacked[counts > 0].sum(axis=0)
    nested = [(counts.copy(), loss(total / counts.sum()))]
    for _ in range(size - counts.sum()):
        k = counts.sum() + 1
        options = [i for i in range(n) if affordable(i)]
        trial_losses = {i: loss((total + stacked[i]) / k) for i in options}
        best = min(options, key=lambda i: (trial_losses[i], own[i]))  # ties: better model
        counts[best] += 1
        total += stacked[best]
        nested.append((counts.copy(), trial_losses[best]))
    chosen = earliest_within(nested, tolerance) if best_nested else counts
    return chosen / chosen.sum()


def earliest_within(nested: list[tuple[np.ndarray, float]], tolerance: float) -> np.ndarray:
    """The counts of the earliest nested ensemble within ``tolerance * |best loss|`` of
    the best loss (with no tolerance, the earliest of the best)."""
    best = min(loss for _, loss in nested)
    return next(c for c, loss in nested if loss <= best + tolerance * abs(best))


def blend(weights: Mapping[int, float], predictions: Mapping[int, np.ndarray]) -> np.ndarray:
    """The weighted average of the trials' stored validation predictions.

    Parameters
    ----------
    weights : mapping of trial id to float
        Ensemble weights (any positive scale).
    predictions : mapping of trial id to ndarray
        Each trial's validation predictions, all of one shape.

    Returns
    -------
    ndarray
        The blended predictions.
    """
    total = sum(weights.values())
    return sum(w * np.asarray(predictions[i], dtype=np.float64)
               for i, w in weights.items()) / total


@dataclass(frozen=True)
class Member:
    """One fitted pipeline of the ensemble with its weight."""

    trial: int
    weight: float
    pipeline: object
    rows: int | None = None  # training rows of its pipeline (None: all rows)


@dataclass(frozen=True)
class Ensemble:
    """Weighted average of member predictions (probabilities or values).

    ``concurrent``: with several prediction threads, members predict at the same time in
    threads of their own, one thread each; otherwise one after the other, each with the
    threads it was set to (see :meth:`served`). Which is faster depends on the members
    (libraries whose Python parts hold the GIL gain little from member threads; a single
    slow member gains nothing), so the fit times both and keeps the faster.
    """

    members: tuple[Member, ...]
    task: str
    n_classes: int | None = None
    concurrent: bool = False
    # regression: each member's predictions are clipped to this range (the training
    # target's, a little widened: final.target_range), so that a model that extrapolates
    # (an MLP, a linear model) cannot put a new row far outside what it was trained on
    value_range: tuple[float, float] | None = None

    @property
    def weights(self) -> dict[int, float]:
        """Weight of each member's trial, normalised to sum to 1."""
        total = sum(m.weight for m in self.members)
        return {m.trial: m.weight / total for m in self.members}

    def served(self, n_threads: int, concurrent: bool = False) -> Ensemble:
        """This ensemble set to predict with ``n_threads`` threads: its members in
        parallel threads of one each (``concurrent``), or one after the other with
        ``n_threads`` each. The members' models are changed in place."""
        from autometa.serving import use_threads

        concurrent = concurrent and n_threads > 1 and len(self.members) > 1
        for m in self.members:
            use_threads(m.pipeline, 1 if concurrent else n_threads)
        return replace(self, concurrent=concurrent)

    def predict(self, X, n_threads: int | None = None) -> np.ndarray:
        """Probabilities over all classes (classification) or values (regression).

        ``n_threads`` caps the OpenMP/BLAS pools of the libraries meanwhile (one per
        member thread when ``concurrent``; ``None`` leaves the libraries' defaults).
        """
        def one(m: Member) -> np.ndarray:
            return m.weight * self.member_predict(m, X)

        workers = min(len(self.members), n_threads or 1) if self.concurrent else 1
        limit = nullcontext() if n_threads is None else _threadpools().limit(
            limits=1 if workers > 1 else n_threads)
        with limit:
            if workers > 1:
                with ThreadPoolExecutor(workers) as pool:
                    parts = list(pool.map(one, self.members))
            else:
                parts = [one(m) for m in self.members]
        return np.sum(parts, axis=0) / sum(m.weight for m in self.members)

    def member_predict(self, member: Member, X) -> np.ndarray:
        """The unweighted predictions of one ``member`` (clipped to ``value_range``)."""
        from autometa.evaluation import predict_pipeline

        prediction = predict_pipeline(member.pipeline, X, self.task, self.n_classes)
        if self.value_range is not None:
            prediction = np.clip(prediction, *self.value_range)
        return prediction

    def reweighed(self, weights: Mapping[int, float]) -> Ensemble:
        """This ensemble with new ``weights`` by trial id; members without one (or with
        weight 0) are dropped."""
        members = tuple(replace(m, weight=weights[m.trial]) for m in self.members
                        if weights.get(m.trial, 0) > 0)
        if not members:
            raise ValueError("reweighing would leave the ensemble without members.")
        return replace(self, members=members)


@cache
def _threadpools():
    """The thread pools of the loaded native libraries (found once: it takes milliseconds)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()
