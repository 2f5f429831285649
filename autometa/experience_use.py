"""How a fit uses the experience store: it records itself there, and starts from it.

:func:`open_experience` links one fit to a store (the estimators' ``experience``
parameter, else the ``AUTOMETA_EXPERIENCE`` environment variable). Through the returned
:class:`FitExperience`:

* **reading** (:meth:`FitExperience.learn`, at the start of the initial design): the
  stored fits of the same task type (and, for classification, of the same kind: binary
  or multiclass) become extra source tasks of the portfolio. The :data:`NEAREST` of them
  nearest in meta-feature space join the shipped source tasks as rows whose losses are
  known only for what their fit tried, and the :data:`TOP_CONFIGS` best configurations of
  each join the candidates (those that are not valid in the current search space are
  skipped). :meth:`autometa.portfolio.Portfolio.select` then weights shipped and stored
  tasks alike. A stored fit of the *same table* is the strongest source: the best
  :data:`PINNED` configurations of the most recent one come first. The same table means
  the same data fingerprint, or the same columns, types and classes (a re-fit on grown
  data) with meta-features closer than the shipped source tasks' typical neighbour.
* **writing** (:class:`ExperienceRecorder`, a callback): when the fit ends, its record
  is stored — also when it was interrupted (``outcome="interrupted"``). A fit that
  failed (no successful trial, or an error) records the trials it finished, with
  ``outcome="failed"``; stored fits without a successful trial are never read as sources.

Any error of the store (locked past its timeout, corrupt, read-only, newer schema, a
server URL) gives one ``UserWarning``; the fit goes on with the shipped portfolio alone,
and nothing of it is lost, only its record.
"""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import joblib
import numpy as np

from autometa.callbacks import Callback
from autometa.experience import ENV, ExperienceError, ExperienceStore
from autometa.portfolio import Pick, Portfolio
from autometa.records import Trial, config_key, fidelity_level
from autometa.task import CLASSIFICATION

if TYPE_CHECKING:
    import pandas as pd

    from autometa.automl import FitResult
    from autometa.evaluation import TaskData
    from autometa.plan import FitPlan

EXPERIENCE_ORIGIN = "experience"  # the leaderboard's origin of the picks from experience
PREFIX = "experience:"  # reasons and source task names of the stored fits
NEAREST = 20  # stored fits taken as source tasks, nearest in meta-feature space
SAME_TABLE = 3  # at most this many stored fits of the same table join them
TOP_CONFIGS = 8  # best distinct configurations of a stored fit that become candidates
PINNED = 3  # best configurations of the same table's latest fit, handed out first

Valid = Callable[[Mapping[str, Any]], bool]


def table_key(frame: pd.DataFrame, task: str, classes: Sequence | None) -> str:
    """The identity of a table apart from its rows: task, column names and types, classes."""
    return joblib.hash((task, list(map(str, frame.columns)), list(map(str, frame.dtypes)),
                        None if classes is None else list(map(str, classes))))


def open_experience(experience, tag: str | None, fingerprint: str, table: str,
                    uid: str | None = None) -> FitExperience | None:
    """Link a fit to its store, or ``None`` when it does not use one.

    Parameters
    ----------
    experience : None, False, str, path or ExperienceStore
        ``None``: the ``AUTOMETA_EXPERIENCE`` environment variable, if set; ``False``:
        no store, whatever the environment says.
    tag : str or None
        The fit's ``experience_tag``.
    fingerprint, table : str
        The data's fingerprint and its table key (see :func:`table_key`).
    uid : str, optional
        The record to replace (a continued fit); a new one by default.

    Returns
    -------
    FitExperience or None
        ``None`` also, after a warning, when the location is not a usable store.
    """
    if experience is False:
        return None
    if experience is None:
        experience = os.environ.get(ENV) or None
    if experience is None:
        return None
    try:
        store = experience if isinstance(experience, ExperienceStore) \
            else ExperienceStore(experience)
    except ExperienceError as exc:
        _warn(str(exc))
        return None
    return FitExperience(store, tag, fingerprint, table, uid or uuid.uuid4().hex)


def _warn(detail: str) -> None:
    warnings.warn(f"{detail} The fit goes on with the shipped portfolio alone and is not "
                  "recorded in the experience store.", UserWarning, stacklevel=4)


@dataclass
class FitExperience:
    """One fit's link to the experience store; the first error warns and turns it off.

    Attributes
    ----------
    store : ExperienceStore
    tag : str or None
        The fit's ``experience_tag``.
    fingerprint, table : str
        The identity of the data, and of its table apart from the rows.
    uid : str
        The fit's record in the store.
    active : bool
        False after an error: nothing more is read or written.
    """

    store: ExperienceStore
    tag: str | None
    fingerprint: str
    table: str
    uid: str
    active: bool = True

    def guard(self, action: Callable[[], Any], what: str) -> Any:
        """``action()``, or ``None`` with one warning (and the link off) if it fails."""
        if not self.active:
            return None
        try:
            return action()
        except Exception as exc:  # a store must never break a fit
            self.active = False
            _warn(f"Could not {what} the experience store {self.store.location} "
                  f"({type(exc).__name__}: {exc}).")
            return None

    def recorder(self) -> ExperienceRecorder:
        """The callback that records the fit when it ends."""
        return ExperienceRecorder(self)

    def learn(self, portfolio: Portfolio, metafeatures: Mapping[str, float] | None,
              n_classes: int | None, valid: Valid) -> tuple[Portfolio, list[Pick]]:
        """The portfolio with the stored fits as extra source tasks, and the configurations
        to hand out first (see the module documentation); unchanged after an error."""
        learned = self.guard(lambda: augment(portfolio, self, metafeatures, n_classes, valid),
                             "read")
        return learned or (portfolio, [])


# -- reading ------------------------------------------------------------------------------------


def augment(portfolio: Portfolio, link: FitExperience, metafeatures: Mapping[str, float] | None,
            n_classes: int | None, valid: Valid) -> tuple[Portfolio, list[Pick]]:
    """The portfolio with the nearest stored fits added as source tasks, and the pins.

    Parameters
    ----------
    portfolio : Portfolio
        The shipped portfolio.
    link : FitExperience
        The store, and the new task's identity.
    metafeatures : mapping or None
        The new task's meta-features (``None``: the most recent stored fits are used).
    n_classes : int or None
        The new task's classes (``None`` for regression).
    valid : callable
        Whether a configuration belongs to the current search space.

    Returns
    -------
    (Portfolio, list of Pick)
    """
    rows = link.store.sources(portfolio.task,
                              n_classes if portfolio.task == CLASSIFICATION else None)
    if not rows:
        return portfolio, []
    vectors = _vectors(rows, portfolio.metafeature_names)
    distance = _distances(portfolio, vectors, metafeatures)
    same = _same_table(rows, distance, link, portfolio)
    chosen = list(dict.fromkeys(same + _nearest(rows, distance)))
    trials = link.store.trials([rows[i]["id"] for i in chosen])
    fits = [_Stored(rows[i], vectors[i], trials[rows[i]["id"]]) for i in chosen]
    augmented = _with_stored(portfolio, fits, valid)
    return augmented, _pins(fits[:len(same)], augmented)


@dataclass
class _Stored:
    """A stored fit read as a source task."""

    row: dict[str, Any]
    vector: np.ndarray
    trials: list[dict[str, Any]]

    @property
    def label(self) -> str:
        return PREFIX + (self.row["tag"] or str(self.row["fingerprint"] or "")[:12])

    def best(self, n: int) -> list[tuple[dict, float]]:
        """Its ``n`` best distinct successful configurations, with their losses (of its
        highest fidelity)."""
        ok = sorted((t for t in top_fidelity(self.trials)
                     if t["status"] == "ok" and t["loss"] is not None), key=lambda t: t["loss"])
        seen: dict[str, tuple[dict, float]] = {}
        for t in ok:
            seen.setdefault(config_key(t["config"]), (t["config"], t["loss"]))
            if len(seen) == n:
                break
        return list(seen.values())


def top_fidelity(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored trials of a fit's highest successful fidelity (all of them without
    multi-fidelity; a trial stored without one counts as all rows)."""
    levels = [fidelity_level(t.get("fidelity")) for t in trials]
    ok = [level for t, level in zip(trials, levels, strict=True) if t["status"] == "ok"]
    top = max(ok or levels, default=None)
    return [t for t, level in zip(trials, levels, strict=True) if level == top]


def _vectors(rows: list[dict], names: Sequence[str]) -> np.ndarray:
    """The stored fits' meta-features in the column order ``names`` (NaN where unknown)."""
    out = np.full((len(rows), len(names)), np.nan)
    groups: dict[tuple, list[int]] = {}
    for i, row in enumerate(rows):
        if row["metafeature_names"]:
            groups.setdefault(row["metafeature_names"], []).append(i)
    for stored, members in groups.items():
        where = {n: j for j, n in enumerate(stored)}
        cols = [(k, where[n]) for k, n in enumerate(names) if n in where]
        if not cols:
            continue
        mine, theirs = (list(c) for c in zip(*cols, strict=True))
        values = np.vstack([rows[i]["vector"] for i in members])
        out[np.ix_(members, mine)] = values[:, theirs]
    return out


def _distances(portfolio: Portfolio, vectors: np.ndarray,
               metafeatures: Mapping[str, float] | None) -> np.ndarray:
    """Scaled meta-feature distance of each stored fit to the new task (``inf`` when either
    has no meta-features; all ``inf`` without the new task's)."""
    if metafeatures is None or not len(vectors):
        return np.full(len(vectors), np.inf)
    query = portfolio.scaled(portfolio.vector(metafeatures)[None, :])[0]
    distance = np.sqrt(((portfolio.scaled(vectors) - query) ** 2).sum(axis=1))
    return np.where(np.isnan(vectors).all(axis=1), np.inf, distance)


def _typical_distance(portfolio: Portfolio) -> float:
    """The shipped source tasks' median distance to their nearest neighbour."""
    from scipy.spatial.distance import cdist

    points = portfolio.scaled(portfolio.metafeatures)
    between = cdist(points, points)
    np.fill_diagonal(between, np.inf)
    return float(np.median(between.min(axis=1))) if len(points) > 1 else 0.0


def _same_table(rows: list[dict], distance: np.ndarray, link: FitExperience,
                portfolio: Portfolio) -> list[int]:
    """Indices of the stored fits of the same table: the same fingerprint first, then the
    same columns with close meta-features; newest first within each, at most SAME_TABLE."""
    exact = [i for i, r in enumerate(rows) if r["fingerprint"] == link.fingerprint]
    similar = [i for i, r in enumerate(rows)
               if r["table_key"] == link.table and r["fingerprint"] != link.fingerprint]
    if similar:
        limit = _typical_distance(portfolio)
        similar = [i for i in similar if distance[i] <= limit]
    return (exact + similar)[:SAME_TABLE]


def _nearest(rows: list[dict], distance: np.ndarray) -> list[int]:
    """The NEAREST stored fits by distance (the most recent ones when none is known)."""
    order = np.argsort(distance, kind="stable")  # rows are newest first
    return [int(i) for i in order[:NEAREST]]


def _with_stored(portfolio: Portfolio, fits: list[_Stored], valid: Valid) -> Portfolio:
    """The portfolio with ``fits`` as extra source tasks and their best configurations as
    extra candidates; the stored tasks' cells are known where their fit tried the
    candidate, the shipped tasks' cells of the new candidates are unknown."""
    index = {config_key(c): j for j, c in enumerate(portfolio.configs)}
    configs, sources = list(portfolio.configs), list(portfolio.sources)
    for fit in fits:
        for config, _ in fit.best(TOP_CONFIGS):
            key = config_key(config)
            if key not in index and valid(config):
                index[key] = len(configs)
                configs.append(config)
                sources.append(fit.label)
    n_old, n_new = len(portfolio.configs), len(configs)
    losses = np.full((len(fits), n_new), np.nan)
    times = np.full((len(fits), n_new), np.nan)
    observed = np.zeros((len(fits), n_new), dtype=bool)
    for i, fit in enumerate(fits):
        for t in top_fidelity(fit.trials):  # the fit's rows and times are those of all rows
            j = index.get(config_key(t["config"]))
            loss = t["loss"] if t["status"] == "ok" and t["loss"] is not None else np.nan
            if j is None or (observed[i, j] and not loss < np.nan_to_num(losses[i, j],
                                                                          nan=np.inf)):
                continue  # not a candidate, or as good a trial of it is known
            observed[i, j] = True
            losses[i, j] = loss
            times[i, j] = np.nan if t["wall_time"] is None else t["wall_time"]
    return _stack(portfolio, fits, configs, sources, losses, times, observed, n_old)


def _stack(portfolio: Portfolio, fits: list[_Stored], configs: list, sources: list,
           losses: np.ndarray, times: np.ndarray, observed: np.ndarray,
           n_old: int) -> Portfolio:
    n_new = len(configs)
    pad = np.full((len(portfolio.tasks), n_new - n_old), np.nan)
    shipped_observed = np.ones((len(portfolio.tasks), n_new), dtype=bool)
    shipped_observed[:, n_old:] = False
    if portfolio.observed is not None:
        shipped_observed[:, :n_old] = portfolio.observed
    stored = np.zeros(len(portfolio.tasks), dtype=bool) if portfolio.stored is None \
        else portfolio.stored
    return dataclasses.replace(
        portfolio,
        tasks=portfolio.tasks + tuple(f.label for f in fits),
        groups=portfolio.groups + tuple(f"{PREFIX}{f.row['uid']}" for f in fits),
        metafeatures=np.vstack([portfolio.metafeatures, [f.vector for f in fits]]),
        configs=tuple(configs), sources=tuple(sources),
        source_groups=portfolio.source_groups + tuple(sources[n_old:]),
        losses=np.vstack([np.hstack([portfolio.losses, pad]), losses]),
        times=np.vstack([np.hstack([portfolio.times, pad]), times]),
        fit_rows=np.concatenate([portfolio.fit_rows,
                                 [np.nan if f.row["fit_rows"] is None else f.row["fit_rows"]
                                  for f in fits]]),
        observed=np.vstack([shipped_observed, observed]),
        stored=np.concatenate([stored, np.ones(len(fits), dtype=bool)]),
    )


def _pins(same: list[_Stored], portfolio: Portfolio) -> list[Pick]:
    """The best configurations of the latest stored fit of the same table (candidates of
    ``portfolio`` only), best first."""
    if not same:
        return []
    known = {config_key(c) for c in portfolio.configs}
    fit = same[0]
    return [Pick(dict(config), fit.label) for config, _ in fit.best(TOP_CONFIGS)
            if config_key(config) in known][:PINNED]


def is_experience(reason: str) -> bool:
    """Whether a pick's reason says it came from the experience store."""
    return reason.startswith(PREFIX)


# -- writing ------------------------------------------------------------------------------------


class ExperienceRecorder(Callback):
    """Records the fit in the store when it ends (see the module documentation)."""

    def __init__(self, link: FitExperience) -> None:
        self.link = link
        self.plan: FitPlan | None = None
        self.data: TaskData | None = None
        self.trials: list[Trial] = []

    def on_start(self, plan: FitPlan, data: TaskData) -> None:
        self.plan, self.data, self.trials = plan, data, []

    def on_trial(self, trial: Trial) -> None:
        self.trials.append(trial)

    def on_end(self, result: FitResult | None) -> None:
        if self.data is None or not self.link.active:
            return
        record = fit_record(self.link, self.plan, self.data, result, self.trials)
        self.link.guard(lambda: self.link.store.add(record), "record this fit in")


def fit_record(link: FitExperience, plan: FitPlan, data: TaskData, result: FitResult | None,
               trials: Sequence[Trial]) -> dict[str, Any]:
    """The store's record of a fit (see :data:`autometa.experience.RECORD_KEYS`)."""
    from autometa.versions import library_versions

    if result is None:
        outcome, trials, weights, metafeatures = "failed", list(trials), {}, None
        fit_time = time.monotonic() - plan.start
    else:
        outcome = "interrupted" if result.interrupted else "ok"
        trials, weights = result.trials, result.ensemble.weights
        metafeatures, fit_time = result.metafeatures, result.fit_time
    return {
        "uid": link.uid, "created": time.time(), "tag": link.tag,
        "fingerprint": link.fingerprint, "table_key": link.table, "task": data.task,
        "metric": data.metric.name, "n_classes": data.n_classes, "n_rows": len(data.y),
        "n_columns": int(data.X.shape[1]),
        "fit_rows": int(sum(len(train) for train, _ in data.splits)),
        "resampling": f"{plan.resampling[0]}:{plan.resampling[1]}", "outcome": outcome,
        "fit_time": float(fit_time),
        "metafeatures": None if metafeatures is None else
        {k: _number(v) for k, v in metafeatures.items()},
        "versions": library_versions(),
        "ensemble": [{"trial": int(i), "weight": float(w)} for i, w in weights.items()],
        "trials": [_trial(t) for t in trials],
    }


def _trial(trial: Trial) -> dict[str, Any]:
    values = dataclasses.asdict(trial)
    values["trial"] = values.pop("id")
    return values


def _number(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
