"""RGPE on random forests: SMAC's surrogate as a ranking-weighted ensemble of one forest per
source task and the target task's own forest.

After Feurer, Letham, Hutter and Bakshy, "Practical transfer learning for Bayesian
optimization" (the ranking-weighted Gaussian-process ensemble), with SMAC's cheap random
forests in place of Gaussian processes:

* every model learns normal scores of its task's loss ranks (``Phi^-1`` of the quantile),
  so tasks measured with different metrics combine;
* a model's weight is the probability that it ranks the target's observations best: over
  bootstrap resamples of the target's observations, the share of resamples on which its
  count of misranked pairs is the lowest (ties share). The target's own forest is judged by
  its out-of-bag predictions (a leave-one-out stand-in that costs nothing);
* a source model whose median ranking loss is no lower than the 95th percentile of the
  target's is dropped (the paper's guard against weight dilution);
* the ensemble predicts ``sum_m w_m mu_m(x)`` and ``sum_m w_m^2 sigma_m^2(x)`` (a weighted
  sum of independent predictions, as in the paper), mapped back to the scale of SMAC's
  encoded costs by the target's mean and standard deviation.

With fewer than two target observations only the source models predict, equally weighted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from ConfigSpace import (
    CategoricalHyperparameter,
    ConfigurationSpace,
    Constant,
    OrdinalHyperparameter,
)
from scipy.stats import norm, rankdata
from sklearn.tree import DecisionTreeRegressor
from smac.model.abstract_model import AbstractModel

N_TREES = 10  # per model, as the search's plain forest
N_BOOTSTRAP = 200  # resamples of the target's observations for the ranking weights
DILUTION_PERCENTILE = 95.0  # of the target's ranking loss (see the module documentation)


# -- forests ------------------------------------------------------------------------------------


def impute_values(space: ConfigurationSpace) -> np.ndarray:
    """The value an inactive hyperparameter takes in a forest's input, per column of a
    configuration array (NaN for the unconditional ones): out of each one's range, as
    SMAC's own forest does."""
    values = np.full(len(space), np.nan)
    for i, hp in enumerate(space.values()):
        if not space.parents_of[hp.name]:
            continue
        if isinstance(hp, CategoricalHyperparameter):
            values[i] = len(hp.choices)
        elif isinstance(hp, OrdinalHyperparameter):
            values[i] = len(hp.sequence)
        elif isinstance(hp, Constant):
            values[i] = 1
        else:
            values[i] = -1
    return values


def impute(X: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Configuration arrays with their inactive (NaN) entries imputed, as float32."""
    X = np.array(X, dtype=np.float32)
    missing = ~np.isfinite(X)
    X[missing] = np.broadcast_to(values, X.shape)[missing]
    return np.nan_to_num(X, nan=-1.0)


class Forest:
    """A small regression forest: bootstrap resamples, random splits, fully grown trees;
    predictions read from the trees' structures directly (see :mod:`autometa.forest`)."""

    def __init__(self, n_trees: int = N_TREES, seed: int = 0) -> None:
        self.n_trees, self.seed = n_trees, seed
        self.trees: list = []
        self.in_bag = np.zeros((0, 0), dtype=bool)

    def fit(self, X: np.ndarray, y: np.ndarray) -> Forest:
        """Fit on imputed arrays ``X`` (float32, as :func:`impute` makes them) and targets
        ``y``."""
        rng = np.random.default_rng(self.seed)
        n = len(y)
        self.trees, self.in_bag = [], np.zeros((self.n_trees, n), dtype=bool)
        for t in range(self.n_trees):
            rows = rng.integers(0, n, n)
            self.in_bag[t, rows] = True
            tree = DecisionTreeRegressor(splitter="random", random_state=int(rng.integers(2**31)))
            self.trees.append(tree.fit(X[rows], y[rows], check_input=False).tree_)
        return self

    def tree_predictions(self, X: np.ndarray) -> np.ndarray:
        """Each tree's prediction of imputed rows ``X``, shape (n_trees, n_rows)."""
        return np.stack([tree.predict(X)[:, 0] for tree in self.trees])

    def mean_var(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance over the trees."""
        preds = self.tree_predictions(X)
        return preds.mean(axis=0), preds.var(axis=0)

    def out_of_bag(self, X: np.ndarray) -> np.ndarray:
        """Each training row's mean prediction by the trees that did not see it (NaN for a
        row every tree saw); ``X`` are the training rows, in order."""
        preds = self.tree_predictions(X)
        out = ~self.in_bag
        count = out.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, (preds * out).sum(axis=0) / count, np.nan)


# -- ranking weights ----------------------------------------------------------------------------


def normal_scores(y: np.ndarray) -> np.ndarray:
    """Values as normal scores of their ranks: ``Phi^-1((rank - 0.5) / n)``, ties averaged."""
    y = np.asarray(y, dtype=float).ravel()
    return norm.ppf((rankdata(y) - 0.5) / len(y)) if len(y) else y


def misranked(predictions: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per model, which ordered pairs of observations it ranks otherwise than ``y``:
    ``(p_i < p_j) xor (y_i < y_j)``, shape (n_models, n, n) (a NaN prediction ranks
    below nothing)."""
    p = np.asarray(predictions, dtype=float)
    with np.errstate(invalid="ignore"):
        return (p[:, :, None] < p[:, None, :]) ^ (y[:, None] < y[None, :])[None]


def ranking_losses(predictions: np.ndarray, y: np.ndarray, n_bootstrap: int = N_BOOTSTRAP,
                   seed: int = 0) -> np.ndarray:
    """Each model's count of misranked pairs on bootstrap resamples of the observations.

    Parameters
    ----------
    predictions : ndarray of shape (n_models, n)
        Each model's prediction of the ``n`` observed configurations.
    y : ndarray of shape (n,)
        Their observed values.
    n_bootstrap : int
    seed : int

    Returns
    -------
    ndarray of shape (n_models, n_bootstrap)
    """
    n = len(y)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_bootstrap).astype(np.float32)
    wrong = misranked(predictions, y).astype(np.float32)
    # loss[m, b] = counts[b] @ wrong[m] @ counts[b]; tensordot runs it as one BLAS product
    return (np.tensordot(counts, wrong, axes=([1], [1])) * counts[:, None, :]).sum(axis=-1).T


def rank_weights(losses: np.ndarray, percentile: float = DILUTION_PERCENTILE
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Ranking weights from the bootstrap ranking losses (the target model last).

    A source model whose median loss is at least the target's ``percentile`` is dropped;
    each resample's weight goes to the models of lowest loss on it, shared in a tie.

    Returns
    -------
    weights : ndarray of shape (n_models,)
        Summing to 1.
    dropped : ndarray of bool, shape (n_models - 1,)
        The source models dropped.
    """
    losses = np.asarray(losses, dtype=float)
    dropped = np.median(losses[:-1], axis=1) >= np.percentile(losses[-1], percentile)
    kept = np.where(np.append(dropped, False)[:, None], np.inf, losses)
    best = kept == kept.min(axis=0, keepdims=True)
    weights = (best / best.sum(axis=0, keepdims=True)).mean(axis=1)
    return weights, dropped


def combine(means: np.ndarray, variances: np.ndarray, weights: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """The ensemble's mean ``sum w_m mu_m`` and variance ``sum w_m^2 var_m`` (models along
    the first axis)."""
    w = np.asarray(weights, dtype=float)[:, None]
    return (w * means).sum(axis=0), (w**2 * variances).sum(axis=0)


# -- the SMAC model -----------------------------------------------------------------------------


class RGPE(AbstractModel):
    """SMAC's surrogate as a ranking-weighted ensemble of source forests and the target's
    forest (see the module documentation).

    Parameters
    ----------
    configspace : ConfigurationSpace
        The search space.
    sources : sequence of (ndarray, ndarray)
        Per source task: configuration arrays of ``configspace`` (as
        ``Configuration.get_array()``) and the normalised losses observed there.
    names : sequence of str, optional
        The source tasks' names (for :attr:`history`).
    seed : int
    n_trees, n_bootstrap : int
    extra : sequence of (str, model)
        More source models, named: anything with ``mean_var(X)`` on imputed
        configuration arrays, in normal scores (e.g. the hp-learner, see
        :class:`autometa.surrogate.LearnedMember`).

    Attributes
    ----------
    weights_ : ndarray
        The weights of the source models, then the target's.
    history : list of (int, ndarray)
        Target observations and the weights at each retraining.
    """

    def __init__(self, configspace: ConfigurationSpace, sources, names=None, seed: int = 0,
                 n_trees: int = N_TREES, n_bootstrap: int = N_BOOTSTRAP,
                 extra: Sequence[tuple[str, Any]] = ()) -> None:
        super().__init__(configspace, seed=seed)
        self.names = list(names) if names is not None else [str(i) for i in range(len(sources))]
        self.names += [name for name, _ in extra]
        self.n_trees, self.n_bootstrap = n_trees, n_bootstrap
        self._impute = impute_values(configspace)
        self.source_models = [
            Forest(n_trees, seed + i).fit(impute(X, self._impute), normal_scores(y))
            for i, (X, y) in enumerate(sources)] + [model for _, model in extra]
        self.target = Forest(n_trees, seed)
        n = len(self.source_models)
        self.weights_ = np.append(np.full(n, 1.0 / n), 0.0) if n else np.ones(1)
        self.history: list[tuple[int, np.ndarray]] = []
        self._scale = (0.0, 1.0)
        self._cache: dict[bytes, tuple[float, float]] = {}

    def weights_frame(self):
        """The weights at each retraining: a DataFrame indexed by the number of target
        observations, one column per source task and ``"target"`` last."""
        import pandas as pd

        return pd.DataFrame([w for _, w in self.history], columns=[*self.names, "target"],
                            index=pd.Index([n for n, _ in self.history], name="observations"))

    @property
    def meta(self) -> dict:
        return {**super().meta, "sources": self.names, "n_trees": self.n_trees}

    def _train(self, X: np.ndarray, Y: np.ndarray) -> RGPE:
        y = np.asarray(Y, dtype=float).ravel()
        z = normal_scores(y)
        Xi = impute(X, self._impute)
        self.target.fit(Xi, z)
        self._scale = (float(y.mean()), float(y.std()) or 1.0)
        stats = [m.mean_var(Xi) for m in (*self.source_models, self.target)]
        self.weights_ = self._weights(np.array([s[0] for s in stats[:-1]]), Xi, z)
        self.history.append((len(y), self.weights_))
        mean, var = self._combined(stats, np.arange(len(stats)))
        # SMAC asks for the training rows one at a time (to find the best predicted one)
        self._cache = {row.tobytes(): (m, v) for row, m, v in
                       zip(np.asarray(X, dtype=float), mean, var, strict=True)}
        return self

    def _weights(self, source_predictions: np.ndarray, Xi: np.ndarray, z: np.ndarray
                 ) -> np.ndarray:
        """The ranking weights (sources, then target) given the target's observations."""
        n_sources = len(self.source_models)
        if not n_sources:
            return np.ones(1)
        if len(z) < 2:
            return np.append(np.full(n_sources, 1.0 / n_sources), 0.0)
        predictions = np.vstack([source_predictions, self.target.out_of_bag(Xi)])
        losses = ranking_losses(predictions, z, self.n_bootstrap, self._seed + len(z))
        return rank_weights(losses)[0]

    def _combined(self, stats: list, models: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ensemble's mean and variance from ``(mean, var)`` of ``models``, in the scale
        of SMAC's encoded costs."""
        mean, var = combine(np.array([s[0] for s in stats]), np.array([s[1] for s in stats]),
                            self.weights_[models])
        shift, scale = self._scale
        return shift + scale * mean, scale**2 * var

    def _predict(self, X: np.ndarray, covariance_type: str | None = "diagonal"
                 ) -> tuple[np.ndarray, np.ndarray]:
        if covariance_type != "diagonal":
            raise ValueError("RGPE predicts a diagonal covariance only.")
        if len(X) == 1 and (hit := self._cache.get(np.asarray(X, dtype=float).tobytes())):
            return np.array([[hit[0]]]), np.array([[hit[1]]])
        Xi = impute(X, self._impute)
        models = [*self.source_models, self.target]
        active = np.flatnonzero(self.weights_ > 0)
        mean, var = self._combined([models[i].mean_var(Xi) for i in active], active)
        return mean[:, None], var[:, None]
