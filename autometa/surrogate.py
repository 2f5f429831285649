"""Which model SMAC's search learns with: its own random forest, or RGPE over source tasks.

:func:`choose_surrogate` turns a fit's ``surrogate`` parameter into the factory
:class:`~autometa.search.SearchSettings` takes (``None``: SMAC's random forest). For RGPE
(:mod:`autometa.rgpe`) the source tasks are the shipped transfer sources
(:mod:`autometa.transfer`) that are also source tasks of the fit's portfolio — so a
portfolio without some group (leave-one-group-out) leaves that group out here too — of
the task's kind (binary or multiclass), and the fits of the experience store when it is
on; the :data:`K_SOURCES` nearest in the portfolio's meta-feature scaling are used.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from ConfigSpace import ConfigurationSpace

from autometa.portfolio import Portfolio, PortfolioError
from autometa.portfolio import load as load_portfolio
from autometa.space import configuration
from autometa.transfer import TransferSources, from_experience
from autometa.transfer import load as load_sources

if TYPE_CHECKING:
    from autometa.hplearner import HPLearner

SURROGATES = ("auto", "rf", "rgpe")
AUTO = "rf"  # what "auto" means (see the README's comparison)
K_SOURCES = 20  # source tasks nearest in meta-feature space
MIN_OBSERVATIONS = 2  # valid observations a source task needs to have a model
LEARNED_NAME = "hp-learner"  # the hp-learner's name among RGPE's source models
LEARNED_VARIANCE = 0.25  # its predictive variance, in normal scores


def resolve(surrogate: str, meta_learning: str) -> str:
    """``"rf"`` or ``"rgpe"`` for the estimators' ``surrogate`` parameter (``"auto"``:
    :data:`AUTO` when meta-learning is on, else ``"rf"``)."""
    if surrogate not in SURROGATES:
        raise ValueError(f"surrogate must be one of {SURROGATES}, not {surrogate!r}.")
    if surrogate == "auto":
        return AUTO if meta_learning == "auto" else "rf"
    return surrogate


def nearest_sources(sources: TransferSources, portfolio: Portfolio,
                    metafeatures: Mapping[str, float], k: int = K_SOURCES) -> TransferSources:
    """The ``k`` source tasks nearest to the new task in the portfolio's meta-feature
    scaling; of the portfolio's source tasks, only those of the task's kind (see
    :meth:`Portfolio.same_kind`) count, other sources (stored fits) all do."""
    same_kind, shipped = set(portfolio.same_kind(metafeatures).tasks), set(portfolio.tasks)
    sources = sources.in_columns(portfolio.metafeature_names).pick(
        [i for i, t in enumerate(sources.tasks) if t.name in same_kind or t.name not in shipped])
    if not sources.tasks:
        return sources
    query = portfolio.scaled(portfolio.vector(metafeatures)[None, :])
    distance = np.linalg.norm(portfolio.scaled(sources.metafeatures) - query, axis=1)
    return sources.pick(np.argsort(distance, kind="stable")[:k].tolist())


def encoded(sources: TransferSources, space: ConfigurationSpace
            ) -> tuple[list[str], list[tuple[np.ndarray, np.ndarray]]]:
    """Each source task's observations that are valid configurations of ``space`` (others —
    excluded families, values out of range — are skipped), as configuration arrays with
    their normalised losses; tasks with fewer than :data:`MIN_OBSERVATIONS` are left out."""
    arrays: dict[int, np.ndarray | None] = {}
    names, rows = [], []
    for task in sources.tasks:
        for j in task.configs:
            if j not in arrays:
                arrays[j] = _array(space, sources.configs[j])
        valid = [k for k, j in enumerate(task.configs) if arrays[j] is not None]
        if len(valid) >= MIN_OBSERVATIONS:
            names.append(task.name)
            rows.append((np.vstack([arrays[task.configs[k]] for k in valid]),
                         task.quantiles[valid]))
    return names, rows


def _array(space: ConfigurationSpace, config: Mapping) -> np.ndarray | None:
    try:
        return configuration(space, config).get_array()
    except Exception:  # ConfigSpace raises ValueError and its own errors
        return None


@dataclass(frozen=True)
class RGPEFactory:
    """Makes the RGPE model of a search over some space from its source tasks (SMAC's
    random forest when none of them observed enough valid configurations of the space),
    with the hp-learner as one more source model when it is given and was trained on
    the same space."""

    sources: TransferSources
    learner: HPLearner | None = None
    metafeatures: Mapping[str, float] | None = None

    def __call__(self, space: ConfigurationSpace, seed: int):
        from autometa.rgpe import RGPE, impute_values
        from autometa.smac_setup import random_forest

        names, rows = encoded(self.sources, space)
        extra = []
        if self.learner is not None and self.learner.matches(space):
            member = LearnedMember(self.learner, dict(self.metafeatures or {}),
                                   impute_values(space))
            extra.append((LEARNED_NAME, member))
        if not rows and not extra:
            return random_forest(space, seed)
        return RGPE(space, rows, names, seed=seed, extra=extra)


@dataclass(frozen=True)
class LearnedMember:
    """The hp-learner as a source model of RGPE: its predicted quantiles of the task, as
    normal scores, with a constant variance :data:`LEARNED_VARIANCE`."""

    learner: HPLearner
    metafeatures: Mapping[str, float]
    imputed: np.ndarray  # the value RGPE gives each inactive hyperparameter

    def mean_var(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from scipy.stats import norm

        arrays = np.where(X == self.imputed, np.nan, X)  # back to inactive
        q = np.clip(self.learner.predict(self.metafeatures, arrays), 0.01, 0.99)
        return norm.ppf(q), np.full(len(q), LEARNED_VARIANCE)


def choose_surrogate(surrogate: str, task: str, metafeatures: Mapping[str, float] | None,
                     portfolio=None, experience=None, n_classes: int | None = None,
                     transfer=None, learner: HPLearner | None = None) -> RGPEFactory | None:
    """The factory of SMAC's model for a fit (``None``: SMAC's random forest).

    Parameters
    ----------
    surrogate : {"rf", "rgpe"}
        As resolved by :func:`resolve`.
    task : {"classification", "regression"}
    metafeatures : mapping or None
        The task's meta-features (RGPE needs them).
    portfolio : Portfolio, path or None
        The fit's portfolio (default: the shipped one): its source tasks are the shipped
        transfer sources used, and its scaling measures meta-feature distances.
    experience : FitExperience, optional
        The fit's experience store: its stored fits are sources too.
    n_classes : int, optional
        The task's classes (stored fits of the same kind are read).
    transfer : TransferSources, path or None
        Sources instead of the shipped ones.
    learner : HPLearner, optional
        The hp-learner, one more source model of RGPE (see :class:`LearnedMember`).

    Returns
    -------
    RGPEFactory or None
        ``None`` also when there is no source task, or (after a warning) when the
        portfolio or the sources cannot be read.
    """
    if surrogate != "rgpe" or metafeatures is None:
        return None
    try:
        portfolio = portfolio if isinstance(portfolio, Portfolio) else \
            load_portfolio(task, portfolio)
        sources = transfer if isinstance(transfer, TransferSources) else \
            load_sources(task, transfer)
    except PortfolioError as exc:
        warnings.warn(f"{exc} The search learns with its own random forest.", stacklevel=3)
        return None
    sources = sources.only(portfolio.tasks)
    if experience is not None:
        sources = sources.joined(from_experience(experience, task, n_classes,
                                                 sources.metafeature_names))
    chosen = nearest_sources(sources, portfolio, metafeatures)
    if not chosen.tasks and learner is None:
        return None
    return RGPEFactory(chosen, learner, metafeatures)


def surrogate_weights(smac):
    """The RGPE weights over a search (see :meth:`autometa.rgpe.RGPE.weights_frame`), or
    ``None`` when SMAC learnt with its random forest (or there is no search)."""
    import sys

    rgpe = sys.modules.get("autometa.rgpe")  # not imported: no RGPE was made
    model = getattr(smac, "_model", None)  # the facade's surrogate (SMAC has no accessor)
    if rgpe is None or not isinstance(model, rgpe.RGPE):
        return None
    return model.weights_frame()
