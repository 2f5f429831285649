"""The arithmetic of portfolios: normalised regret, the greedy order of candidates, and
how alike two tasks rank the same candidates."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def normalised_regret(losses: np.ndarray) -> np.ndarray:
    """Per task, ``(loss - best) / (worst - best)`` over the candidates; failures count 1.

    Parameters
    ----------
    losses : ndarray of shape (n_tasks, n_candidates)
        Losses, NaN where a candidate failed.

    Returns
    -------
    ndarray of the same shape, values in [0, 1]
    """
    losses = np.asarray(losses, dtype=float)
    finite = np.isfinite(losses)
    low = np.where(finite, losses, np.inf).min(axis=1, keepdims=True)
    high = np.where(finite, losses, -np.inf).max(axis=1, keepdims=True)
    span = np.where(high - low > 0, high - low, 1.0)
    with np.errstate(invalid="ignore"):
        regret = (losses - low) / span
    return np.where(finite, np.clip(regret, 0.0, 1.0), 1.0)


def greedy_order(regret: np.ndarray, weights: np.ndarray | None = None,
                 start: Sequence[int] = (), n: int | None = None) -> list[int]:
    """Candidates ordered greedily: each next one minimises the mean (over tasks) of the
    lowest regret reached by the candidates chosen so far.

    Parameters
    ----------
    regret : ndarray of shape (n_tasks, n_candidates)
    weights : ndarray of shape (n_tasks,), optional
        Task weights of the mean (uniform by default).
    start : sequence of int
        Candidates already chosen: the order begins with them and goes on from them.
    n : int, optional
        Length of the order (all candidates by default).

    Returns
    -------
    list of int
        Candidate indices in greedy order (ties go to the lower index).
    """
    n_tasks, n_cands = regret.shape
    weights = np.full(n_tasks, 1.0 / max(n_tasks, 1)) if weights is None else weights
    n = n_cands if n is None else min(n, n_cands)
    order = list(start)
    current = regret[:, order].min(axis=1) if order else np.ones(n_tasks)
    left = np.setdiff1d(np.arange(n_cands), order)
    while len(order) < n and len(left):
        scores = weights @ np.minimum(current[:, None], regret[:, left])
        best = int(np.argmin(scores))
        order.append(int(left[best]))
        current = np.minimum(current, regret[:, left[best]])
        left = np.delete(left, best)
    return order


def agreement(losses: np.ndarray, regret: np.ndarray,
              observed: np.ndarray | None = None) -> np.ndarray:
    """How well each source task ranks some candidates as the new task does.

    Parameters
    ----------
    losses : ndarray of shape (m,)
        The new task's losses on ``m`` candidates (``inf`` where a trial failed).
    regret : ndarray of shape (n_tasks, m)
        The source tasks' regrets on the same candidates.
    observed : ndarray of bool, shape (n_tasks, m), optional
        Which of those regrets were measured (default: all). A pair with an unmeasured
        cell counts as neither alike nor opposite, so a task that measured few of the
        candidates weighs in little.

    Returns
    -------
    ndarray of shape (n_tasks,)
        Kendall's tau-a, in [-1, 1]: over the pairs of candidates, the share ordered alike
        minus the share ordered oppositely (ties count as neither).
    """
    finite = np.isfinite(losses)
    worst = losses[finite].max() + 1.0 if finite.any() else 0.0
    losses = np.where(finite, losses, worst)  # a failure ranks last
    m = len(losses)
    if m < 2:
        return np.zeros(len(regret))
    ours = np.sign(losses[:, None] - losses[None, :])
    theirs = np.sign(regret[:, :, None] - regret[:, None, :])
    if observed is not None:
        theirs = theirs * (observed[:, :, None] & observed[:, None, :])
    return (theirs * ours).sum(axis=(1, 2)) / (m * (m - 1))
