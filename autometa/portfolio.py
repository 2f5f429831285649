"""The shipped meta-learned portfolio: loading it, and choosing a task's first configurations.

A portfolio (one versioned JSON file per task type, shipped as the package data
``autometa/portfolios``, see :func:`portfolio_dir`) holds the
source tasks of the corpus with their meta-feature vectors, a pool of candidate
configurations, the task x candidate loss matrix measured on them, and a greedy order
of the candidates. :meth:`Portfolio.select` turns a new task's meta-features into the
configurations a fit evaluates first: a greedy order that weights the nearest source tasks
up, the more the closer they are, and falls back to all tasks when none is close. Once
the losses of a few of them are known, the source tasks that rank them as the new task
does count more.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from autometa.records import config_key
from autometa.regret import agreement, greedy_order, normalised_regret
from autometa.task import CLASSIFICATION

SCHEMA_VERSION = 1
CLIP = 4.0  # scaled meta-features are clipped to [-CLIP, CLIP]
CLASSES = "simple.n_classes"
PER_CLASS_FAMILIES = frozenset({"lightgbm", "xgboost", "hist_gradient_boosting"})
# families whose trial time grows with the validation rows as with the training rows (a
# nearest-neighbour model compares each row it predicts with all its training rows)
PER_VALIDATION_ROW_FAMILIES = frozenset({"knn"})
MIN_SAME_KIND = 10  # fewer binary (or multiclass) source tasks than this: use them all
MIN_OBSERVED = 3  # losses seen on the new task before source tasks are re-weighted by them
AGREEMENT = 10.0  # how strongly (see Portfolio.select)
OPEN = 0.1  # share of the task weights always spread over all source tasks (select)


class PortfolioError(ValueError):
    """A portfolio file that is missing, unreadable or of another schema version."""


@dataclass(frozen=True)
class Pick:
    """One configuration chosen from the portfolio and why."""

    config: dict[str, Any]
    reason: str  # "knn:<neighbour it is best on>" when the neighbours moved it up, or "greedy"


@dataclass(frozen=True)
class Portfolio:
    """Source tasks, candidate configurations and their measured losses for one task type.

    Attributes
    ----------
    task : str
        ``"classification"`` or ``"regression"``.
    metafeature_names : tuple of str
        Order of the columns of ``metafeatures``.
    tasks, groups : tuple of str
        Source task names and their groups (related tasks share a group).
    metafeatures : ndarray of shape (n_tasks, n_metafeatures)
        Raw meta-feature values of the source tasks (NaN where not computable).
    configs : tuple of dict
        Candidate configurations.
    sources, source_groups : tuple of str
        For each candidate, the source task whose search found it and that task's group
        (both ``"default"`` for a family's default configuration).
    losses : ndarray of shape (n_tasks, n_candidates)
        Validation loss of each candidate on each task; NaN where it failed.
    times : ndarray of shape (n_tasks, n_candidates)
        Seconds each of those trials took (NaN where unknown).
    fit_rows : ndarray of shape (n_tasks,)
        Training rows of one such trial on each task, summed over its splits.
    provenance : dict
        How and when the portfolio was built.
    observed : ndarray of bool, shape (n_tasks, n_candidates), or None
        Which cells were measured (``None``: all). A source task from the experience
        store measured only what its fit tried; its other cells are unknown, not failed.
    stored : ndarray of bool, shape (n_tasks,), or None
        Which source tasks come from the experience store (``None``: none). The
        meta-feature scaling is computed from the others, so stored tasks do not move it.
    """

    task: str
    metafeature_names: tuple[str, ...]
    tasks: tuple[str, ...]
    groups: tuple[str, ...]
    metafeatures: np.ndarray
    configs: tuple[dict, ...]
    sources: tuple[str, ...]
    source_groups: tuple[str, ...]
    losses: np.ndarray
    times: np.ndarray
    fit_rows: np.ndarray
    provenance: dict = field(default_factory=dict)
    observed: np.ndarray | None = None
    stored: np.ndarray | None = None

    @property
    def _scaling_rows(self) -> np.ndarray:
        if self.stored is None or self.stored.all():
            return self.metafeatures
        return self.metafeatures[~self.stored]

    @cached_property
    def center(self) -> np.ndarray:
        """Per meta-feature median over the source tasks (NaN-safe, 0 when all NaN)."""
        return np.nan_to_num(_nan_stat(np.nanmedian, self._scaling_rows))

    @cached_property
    def scale(self) -> np.ndarray:
        """Per meta-feature inter-quartile range over the source tasks (1 when degenerate)."""
        rows = self._scaling_rows
        q75 = _nan_stat(lambda a, axis: np.nanpercentile(a, 75, axis=axis), rows)
        q25 = _nan_stat(lambda a, axis: np.nanpercentile(a, 25, axis=axis), rows)
        iqr = np.nan_to_num(q75 - q25)
        return np.where(iqr > 1e-12, iqr, 1.0)

    def scaled(self, values: np.ndarray) -> np.ndarray:
        """Meta-feature rows in the portfolio's scaling: robust z-scores, NaN -> 0, clipped."""
        z = (np.asarray(values, dtype=float) - self.center) / self.scale
        return np.clip(np.nan_to_num(z, nan=0.0, posinf=CLIP, neginf=-CLIP), -CLIP, CLIP)

    @property
    def measured_rows(self) -> int:
        """Most rows of a task the candidates were measured on (0 when not recorded)."""
        return int(self.provenance.get("fidelity", {}).get("max_rows", 0))

    @property
    def split_rows(self) -> float:
        """Median training rows of a split of the source tasks (their rows in all over
        the splits of ``provenance["fidelity"]``; NaN when none was recorded)."""
        n_splits = self.provenance.get("fidelity", {}).get("n_splits", 1)
        known = self.fit_rows[np.isfinite(self.fit_rows)]
        return float(np.median(known)) / n_splits if len(known) else float("nan")

    @cached_property
    def regret(self) -> np.ndarray:
        """Normalised regret of each candidate on each task (see :func:`normalised_regret`).

        An unknown cell (see ``observed``) takes the median regret of the cells its task
        measured: a configuration it never tried counts as a typical one, neither as its
        best nor as a failure.
        """
        regret = normalised_regret(self.losses)
        if self.observed is None:
            return regret
        known = np.where(self.observed, regret, np.nan)
        typical = np.nan_to_num(_nan_stat(np.nanmedian, known.T), nan=1.0)
        return np.where(self.observed, regret, typical[:, None])

    @cached_property
    def order(self) -> list[int]:
        """All candidates in greedy portfolio order (see :func:`greedy_order`)."""
        return greedy_order(self.regret)

    def vector(self, metafeatures: Mapping[str, float]) -> np.ndarray:
        """A new task's meta-features as a row in this portfolio's column order."""
        return np.array([metafeatures.get(n, np.nan) for n in self.metafeature_names],
                        dtype=float)

    def without(self, groups: Collection[str]) -> Portfolio:
        """This portfolio as if the tasks of ``groups`` had never been seen.

        Their rows go, and so do the candidates their searches found (leave-one-group-out).
        """
        drop = set(groups)
        return self._take(rows=[i for i, g in enumerate(self.groups) if g not in drop],
                          cols=[j for j, g in enumerate(self.source_groups) if g not in drop])

    def only_families(self, families: Collection[str]) -> Portfolio:
        """The candidates of the given model families only."""
        return self._take(cols=[j for j, c in enumerate(self.configs)
                                if c.get("model") in set(families)])

    def with_defaults(self, defaults: Mapping[str, Any]) -> Portfolio:
        """The candidates completed with ``defaults`` for the keys they lack.

        Candidates are stored without the hyperparameters a search space gained after
        the portfolio was built (e.g. a regression space's ``target_transform``); their
        default is what such a candidate means (see :func:`autometa.space.root_defaults`).
        """
        if not defaults:
            return self
        return replace(self, configs=tuple({**defaults, **c} for c in self.configs))

    def affordable(self, seconds: float, fit_rows: int, n_classes: int | None = None
                   ) -> Portfolio:
        """The candidates expected to take at most ``seconds`` on a task whose trial trains
        on ``fit_rows`` rows in all (summed over its splits) with ``n_classes`` classes.

        Each candidate's measured seconds per unit of work on the source tasks (median),
        times the task's work. The work is the training rows, times the number of classes
        for the gradient-boosting families on multiclass tasks (one tree per class and
        round). Candidates without timings stay; if none would stay, all do.
        """
        expected = self.expected_seconds(fit_rows, n_classes)
        keep = [j for j, t in enumerate(expected) if not t > seconds]
        return self._take(cols=keep) if keep else self

    def expected_seconds(self, fit_rows: float, n_classes: int | None = None,
                         valid_rows: float | None = None) -> np.ndarray:
        """Each candidate's expected seconds for a trial training on ``fit_rows`` rows in all
        (see :meth:`affordable`; NaN for a candidate never timed). With ``valid_rows``
        (validation rows per split), the work of :data:`PER_VALIDATION_ROW_FAMILIES` is
        also in proportion to those (the source tasks': a ``provenance["fidelity"]``
        cross-validation's fold)."""
        families = [c.get("model") for c in self.configs]
        per_class = np.array([f in PER_CLASS_FAMILIES for f in families])
        source_work = self.fit_rows[:, None] * np.where(
            per_class, _class_factor(self._source_classes())[:, None], 1.0)
        work = fit_rows * np.where(per_class, _class_factor(np.asarray(n_classes or 0)), 1.0)
        n_splits = self.provenance.get("fidelity", {}).get("n_splits", 0)
        if valid_rows and n_splits > 1:
            searching = np.array([f in PER_VALIDATION_ROW_FAMILIES for f in families])
            source_valid = self.fit_rows / ((n_splits - 1) * n_splits)
            source_work = source_work * np.where(searching, source_valid[:, None], 1.0)
            work = work * np.where(searching, valid_rows, 1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # candidates never timed
            per_unit = np.nanmedian(self.times / source_work, axis=0)
        return per_unit * work

    def _source_classes(self) -> np.ndarray:
        """Number of classes of each source task (0 when unknown or regression)."""
        if CLASSES not in self.metafeature_names:
            return np.zeros(len(self.tasks))
        column = self.metafeatures[:, self.metafeature_names.index(CLASSES)]
        return np.nan_to_num(column, nan=0.0)

    def _take(self, rows: Sequence[int] | None = None, cols: Sequence[int] | None = None
              ) -> Portfolio:
        """The portfolio restricted to some source tasks (rows) and candidates (columns)."""
        r = np.arange(len(self.tasks)) if rows is None else np.asarray(rows, dtype=int)
        c = np.arange(len(self.configs)) if cols is None else np.asarray(cols, dtype=int)
        return replace(
            self,
            tasks=tuple(self.tasks[i] for i in r), groups=tuple(self.groups[i] for i in r),
            metafeatures=self.metafeatures[r], fit_rows=self.fit_rows[r],
            configs=tuple(self.configs[j] for j in c), sources=tuple(self.sources[j] for j in c),
            source_groups=tuple(self.source_groups[j] for j in c),
            losses=self.losses[np.ix_(r, c)], times=self.times[np.ix_(r, c)],
            observed=None if self.observed is None else self.observed[np.ix_(r, c)],
            stored=None if self.stored is None else self.stored[r],
        )

    def select(self, metafeatures: Mapping[str, float] | None, n: int, strategy: str = "auto",
               k: int = 20, tried: Sequence[tuple[Mapping, float | None]] = ()) -> list[Pick]:
        """The next ``n`` configurations to evaluate on a new task.

        Parameters
        ----------
        metafeatures : mapping of str to float or None
            The new task's meta-features (``None`` forces the greedy portfolio).
        n : int
            Number of configurations.
        strategy : {"auto", "greedy"}
            ``"auto"``: the greedy order computed with the ``k`` nearest source tasks
            weighted up, the more the closer they are (see :meth:`_neighbourhood`): the
            candidates that together do best on the neighbours, and on all tasks when
            there are no close neighbours. Only source tasks of the same kind (binary or
            multiclass, see :meth:`same_kind`) count. Once :data:`MIN_OBSERVED` losses of
            candidates are known (``tried``), each source task's weight is multiplied by
            ``exp(AGREEMENT * tau)``, ``tau`` being the rank agreement of its losses with
            the new task's (see :func:`agreement`). ``"greedy"``: the greedy order of all
            tasks.
        k : int
            Number of nearest source tasks considered.
        tried : sequence of (config, loss)
            Configurations already evaluated on the new task, in order, with their loss:
            ``inf`` if the trial failed, ``None`` while it runs. The greedy order goes on
            from them, and they are not picked again.

        Returns
        -------
        list of Pick
            Distinct configurations, most promising first.
        """
        if not self.configs or n <= 0:
            return []
        index = {config_key(c): i for i, c in enumerate(self.configs)}
        known = [(index[config_key(c)], loss) for c, loss in tried if config_key(c) in index]
        done = list(dict.fromkeys(c for c, _ in known))  # candidate indices, in order
        if strategy != "auto" or metafeatures is None or len(self.tasks) < 2:
            order = [c for c in self.order if c not in done]
            return [Pick(dict(self.configs[c]), "greedy") for c in order[:n]]
        source = self.same_kind(metafeatures)
        neighbours, weights = source._neighbourhood(self.vector(metafeatures), k)
        regret = source.regret
        seen = [(c, loss) for c, loss in known if loss is not None]
        if len(seen) >= MIN_OBSERVED:
            cols, losses = zip(*seen, strict=True)
            observed = None if source.observed is None else source.observed[:, list(cols)]
            tau = agreement(np.array(losses, dtype=float), regret[:, list(cols)], observed)
            weights = weights * np.exp(AGREEMENT * tau)
            weights /= weights.sum()
        rank = {c: r for r, c in enumerate(self.order)}
        picks = []
        for r, c in enumerate(greedy_order(regret, weights, done, len(done) + n)):
            if r < len(done):
                continue
            best_on = neighbours[int(np.argmin(regret[neighbours, c]))]
            promoted = r < rank[c]  # the neighbours moved it up the greedy order
            picks.append(Pick(dict(self.configs[c]),
                              f"knn:{source.tasks[best_on]}" if promoted else "greedy"))
        return picks

    def same_kind(self, metafeatures: Mapping[str, float]) -> Portfolio:
        """The source tasks of the new task's kind: binary or multiclass classification.

        Their default losses differ (ROC AUC, log loss), and so do the candidates that do
        well on them. All source tasks when the task is a regression, its class count is
        unknown or fewer than :data:`MIN_SAME_KIND` source tasks are of its kind.
        """
        classes = float(metafeatures.get(CLASSES, np.nan))
        if self.task != CLASSIFICATION or not np.isfinite(classes):
            return self
        rows = np.flatnonzero((self._source_classes() > 2) == (classes > 2))
        return self._take(rows=rows) if len(rows) >= MIN_SAME_KIND else self

    def _neighbourhood(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest source tasks (nearest first) and task weights for the greedy
        order: ``closeness`` spread over them, the rest over all tasks. ``closeness`` is the
        source tasks' typical 1-NN distance over the query's, capped at 1, times
        ``1 - OPEN``: every source task keeps some weight, which the agreement of its
        losses with the new task's can raise (see :meth:`select`).

        Brute force: the 149 shipped classification tasks take under a millisecond, with
        no thread pool to compete with the trials for the cores."""
        from scipy.spatial.distance import cdist

        points = self.scaled(self.metafeatures)
        k = min(k, len(points) - 1)
        between = cdist(points, points)
        np.fill_diagonal(between, np.inf)
        typical = float(np.median(between.min(axis=1)))  # source tasks' 1-NN distance
        dist = cdist(self.scaled(query[None, :]), points)[0]
        idx = np.argsort(dist, kind="stable")[:k]
        closeness = (1 - OPEN) * float(np.clip(typical / max(dist[idx[0]], 1e-12), 0.0, 1.0))
        weights = np.full(len(points), (1.0 - closeness) / len(points))
        weights[idx] += closeness / k
        return idx, weights


def _nan_stat(fn, values: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        return fn(values, axis=0)


# -- files --------------------------------------------------------------------------------------


def from_json(doc: Mapping[str, Any], where: str = "portfolio") -> Portfolio:
    """A :class:`Portfolio` from its JSON document; raises :class:`PortfolioError`."""
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION:
        raise PortfolioError(
            f"{where} has schema version {version!r}; this autometa reads version "
            f"{SCHEMA_VERSION}. Rebuild it with `autometa portfolio build` or reinstall autometa."
        )
    try:
        tasks = doc["tasks"]
        cands = doc["candidates"]
        return Portfolio(
            task=doc["task"],
            metafeature_names=tuple(doc["metafeature_names"]),
            tasks=tuple(t["name"] for t in tasks),
            groups=tuple(t["group"] for t in tasks),
            metafeatures=_matrix([t["metafeatures"] for t in tasks], len(doc["metafeature_names"])),
            configs=tuple(c["config"] for c in cands),
            sources=tuple(c["source"] for c in cands),
            source_groups=tuple(c["source_group"] for c in cands),
            losses=_matrix([t["losses"] for t in tasks], len(cands)),
            times=_matrix([t.get("times") or [None] * len(cands) for t in tasks], len(cands)),
            fit_rows=np.array([t.get("fit_rows") or np.nan for t in tasks], dtype=float),
            provenance=dict(doc.get("provenance", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PortfolioError(f"{where} is not a valid portfolio ({exc!r}).") from exc


def _matrix(rows: Sequence[Sequence], width: int) -> np.ndarray:
    values = np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float)
    return values.reshape(len(rows), width)


def to_json(portfolio: Portfolio) -> dict[str, Any]:
    """The JSON document of a portfolio (NaN written as null), greedy order included."""

    def clean(values) -> list:
        return [None if not np.isfinite(v) else float(v) for v in values]

    return {
        "schema_version": SCHEMA_VERSION,
        "task": portfolio.task,
        "metafeature_names": list(portfolio.metafeature_names),
        "metafeature_scaling": {"center": clean(portfolio.center),
                                "scale": clean(portfolio.scale)},
        "tasks": [
            {"name": t, "group": g, "metafeatures": clean(m), "losses": clean(r),
             "times": clean(s), "fit_rows": None if not np.isfinite(f) else int(f)}
            for t, g, m, r, s, f in zip(portfolio.tasks, portfolio.groups, portfolio.metafeatures,
                                        portfolio.losses, portfolio.times, portfolio.fit_rows,
                                        strict=True)
        ],
        "candidates": [{"config": c, "source": s, "source_group": g} for c, s, g in
                       zip(portfolio.configs, portfolio.sources, portfolio.source_groups,
                           strict=True)],
        "greedy_order": portfolio.order,
        "provenance": portfolio.provenance,
    }


def portfolio_dir() -> Path:
    """The folder of the shipped portfolios.

    Looked for in this order: inside the imported ``autometa`` package (where an
    installed wheel puts them), next to it (a repository's ``portfolios/`` beside its
    source tree ``autometa/``, imported when Python runs from the repository root, which
    has no ``autometa.portfolios`` package), and wherever ``autometa.portfolios``
    imports from (e.g. an editable install's mapping).

    Returns
    -------
    Path
        The folder holding ``<task type>.json``.

    Raises
    ------
    PortfolioError
        When none of these exists, saying how to get the portfolios back.
    """
    package = Path(__file__).parent
    inside, beside = package / "portfolios", package.parent / "portfolios"
    for folder in (inside, beside):
        if folder.is_dir():
            return folder
    try:
        folder = Path(str(resources.files("autometa.portfolios")))
    except ImportError:
        folder = None
    if folder is not None and folder.is_dir():
        return folder
    raise PortfolioError(
        f"The shipped portfolios are missing: neither {inside} nor {beside} exists, and there "
        "is no autometa.portfolios package. Reinstall autometa (`pip install autometa`; "
        "`pip install -e .` in a checkout of its repository), or pass the estimator "
        "portfolio=<a portfolio JSON file>; meta_learning='off' fits without one."
    )


def portfolio_path(task: str) -> Path:
    """Where the shipped portfolio of a task type lives (see :func:`portfolio_dir`).

    Parameters
    ----------
    task : str
        ``"classification"`` or ``"regression"``.

    Returns
    -------
    Path
        ``<portfolio folder>/<task>.json`` (which may not exist for an unknown task).
    """
    return portfolio_dir() / f"{task}.json"


def load(task: str, path: str | Path | None = None) -> Portfolio:
    """The shipped portfolio of ``task`` (or the file at ``path``).

    Raises
    ------
    PortfolioError
        When the file (or the folder of the shipped ones) is missing, unreadable or of
        another schema version.
    """
    path = Path(path) if path is not None else portfolio_path(task)
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PortfolioError(f"Cannot read the portfolio {path}: {exc}") from exc
    portfolio = from_json(doc, where=str(path))
    if portfolio.task != task:
        raise PortfolioError(f"{path} is a {portfolio.task} portfolio, not {task}.")
    return portfolio


def _class_factor(n_classes: np.ndarray) -> np.ndarray:
    """How many trees a boosting round grows: one per class beyond two classes."""
    return np.where(n_classes > 2, n_classes, 1.0)
