"""Source observations for surrogate transfer: per source task, its meta-features and the
(configuration, normalised loss) pairs measured on it.

The shipped file ``transfer_<task type>.json.gz`` (beside the portfolios, see
:func:`transfer_path`) holds, for every corpus task, the successful trials of its SMAC
search and of the portfolio's task x candidate matrix. Losses are normalised per task to
their quantile among the task's successes (``(rank - 0.5) / n``, ties averaged), so tasks
measured with different metrics combine. Configurations are stored once and referred to
by index. The user's experience store gives the same kind of rows
(:func:`from_experience`); both are read as :class:`TransferSources`.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import rankdata

from autometa.portfolio import PortfolioError, portfolio_dir
from autometa.records import config_key

SCHEMA_VERSION = 1
DECIMALS = 4  # quantiles are stored rounded to this many decimals


@dataclass(frozen=True)
class SourceTask:
    """One source task: its identity, meta-features and normalised observations.

    Attributes
    ----------
    name, group : str
        The task and its group (related tasks share a group).
    metafeatures : ndarray of shape (n_metafeatures,)
        Raw meta-feature values (NaN where unknown), in the sources' column order.
    configs : ndarray of int
        Indices into :attr:`TransferSources.configs` of the configurations observed.
    quantiles : ndarray of float
        Their losses normalised on the task (0: its best, 1: its worst).
    """

    name: str
    group: str
    metafeatures: np.ndarray
    configs: np.ndarray
    quantiles: np.ndarray


@dataclass(frozen=True)
class TransferSources:
    """The source tasks of one task type and the configurations they observed.

    Attributes
    ----------
    task : str
        ``"classification"`` or ``"regression"``.
    metafeature_names : tuple of str
    configs : tuple of dict
        Every configuration observed on some source task.
    tasks : tuple of SourceTask
    provenance : dict
    """

    task: str
    metafeature_names: tuple[str, ...]
    configs: tuple[dict, ...]
    tasks: tuple[SourceTask, ...]
    provenance: dict = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tasks)

    @property
    def metafeatures(self) -> np.ndarray:
        """Meta-feature rows of the source tasks, shape (n_tasks, n_metafeatures)."""
        return np.array([t.metafeatures for t in self.tasks], dtype=float).reshape(
            len(self.tasks), len(self.metafeature_names))

    def without(self, groups: Collection[str]) -> TransferSources:
        """These sources as if the tasks of ``groups`` had never been seen."""
        drop = set(groups)
        return replace(self, tasks=tuple(t for t in self.tasks if t.group not in drop))

    def only(self, names: Collection[str]) -> TransferSources:
        """The source tasks named in ``names`` only (in this object's order)."""
        keep = set(names)
        return replace(self, tasks=tuple(t for t in self.tasks if t.name in keep))

    def pick(self, indices: Sequence[int]) -> TransferSources:
        """The source tasks at ``indices``, in that order."""
        return replace(self, tasks=tuple(self.tasks[i] for i in indices))

    def observations(self, i: int) -> tuple[list[dict], np.ndarray]:
        """The configurations and normalised losses of source task ``i``."""
        t = self.tasks[i]
        return [self.configs[j] for j in t.configs], t.quantiles

    def in_columns(self, names: Sequence[str]) -> TransferSources:
        """These sources with their meta-features in the column order ``names`` (NaN for a
        meta-feature they lack)."""
        if tuple(names) == self.metafeature_names:
            return self
        where = [self.metafeature_names.index(n) if n in self.metafeature_names else None
                 for n in names]
        return replace(self, metafeature_names=tuple(names), tasks=tuple(
            replace(t, metafeatures=np.array([np.nan if k is None else t.metafeatures[k]
                                              for k in where], dtype=float))
            for t in self.tasks))

    def joined(self, other: TransferSources) -> TransferSources:
        """Both sets of source tasks (``other``'s meta-features put in this column order)."""
        other = other.in_columns(self.metafeature_names)
        offset = len(self.configs)
        return replace(self, configs=self.configs + other.configs, tasks=self.tasks + tuple(
            replace(t, configs=t.configs + offset) for t in other.tasks))


def quantiles(losses: Sequence[float]) -> np.ndarray:
    """Losses of one task as quantiles among themselves: ``(rank - 0.5) / n``, ties averaged
    (a single loss is 0.5)."""
    losses = np.asarray(losses, dtype=float)
    if not len(losses):
        return losses
    return (rankdata(losses) - 0.5) / len(losses)


def task_rows(trials: Sequence[tuple[Mapping, float | None]]) -> tuple[list[dict], np.ndarray]:
    """The distinct successful configurations of one task with their normalised losses.

    A configuration measured more than once counts once, with its mean loss; failed
    trials (loss ``None`` or not finite) are left out.
    """
    by_key: dict[str, tuple[dict, list[float]]] = {}
    for config, loss in trials:
        if loss is None or not np.isfinite(loss):
            continue
        by_key.setdefault(config_key(config), (dict(config), []))[1].append(float(loss))
    configs = [c for c, _ in by_key.values()]
    return configs, quantiles([np.mean(ls) for _, ls in by_key.values()])


def from_rows(task: str, metafeature_names: Sequence[str],
              rows: Sequence[tuple[str, str, np.ndarray, Sequence[tuple[Mapping, float | None]]]],
              provenance: Mapping[str, Any] | None = None) -> TransferSources:
    """Sources from ``(name, group, metafeature vector, [(config, loss), ...])`` per task
    (see :func:`task_rows`); tasks without a successful trial are left out."""
    index: dict[str, int] = {}
    configs: list[dict] = []
    tasks = []
    for name, group, vector, trials in rows:
        kept, normalised = task_rows(trials)
        if not kept:
            continue
        ids = []
        for config in kept:
            key = config_key(config)
            if key not in index:
                index[key] = len(configs)
                configs.append(config)
            ids.append(index[key])
        tasks.append(SourceTask(name, group, np.asarray(vector, dtype=float),
                                np.array(ids, dtype=np.int64), normalised))
    return TransferSources(task, tuple(metafeature_names), tuple(configs), tuple(tasks),
                           dict(provenance or {}))


# -- files --------------------------------------------------------------------------------------


def to_json(sources: TransferSources) -> dict[str, Any]:
    """The JSON document of the sources (NaN written as null, quantiles rounded)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "task": sources.task,
        "metafeature_names": list(sources.metafeature_names),
        "normalisation": "quantile of the loss among the task's successful trials: "
                         "(rank - 0.5) / n, ties averaged",
        "configs": list(sources.configs),
        "tasks": [{"name": t.name, "group": t.group,
                   "metafeatures": [None if not np.isfinite(v) else float(v)
                                    for v in t.metafeatures],
                   "configs": t.configs.tolist(),
                   "quantiles": np.round(t.quantiles, DECIMALS).tolist()}
                  for t in sources.tasks],
        "provenance": dict(sources.provenance),
    }


def from_json(doc: Mapping[str, Any], where: str = "transfer sources") -> TransferSources:
    """:class:`TransferSources` from their JSON document; raises :class:`PortfolioError`."""
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise PortfolioError(
            f"{where} has schema version {doc.get('schema_version')!r}; this autometa reads "
            f"version {SCHEMA_VERSION}. Rebuild it with `autometa portfolio build`.")
    try:
        tasks = tuple(
            SourceTask(t["name"], t["group"],
                       np.array([np.nan if v is None else v for v in t["metafeatures"]],
                                dtype=float),
                       np.array(t["configs"], dtype=np.int64),
                       np.array(t["quantiles"], dtype=float))
            for t in doc["tasks"])
        return TransferSources(doc["task"], tuple(doc["metafeature_names"]),
                               tuple(doc["configs"]), tasks, dict(doc.get("provenance", {})))
    except (KeyError, TypeError, ValueError) as exc:
        raise PortfolioError(f"{where} is not a valid transfer file ({exc!r}).") from exc


def transfer_path(task: str) -> Path:
    """Where the shipped sources of a task type live: ``transfer_<task>.json.gz`` in the
    folder of the shipped portfolios (see :func:`autometa.portfolio.portfolio_dir`)."""
    return portfolio_dir() / f"transfer_{task}.json.gz"


def write(sources: TransferSources, path: str | Path) -> Path:
    """Write ``sources`` as gzipped JSON (see :func:`write_json_gz`)."""
    return write_json_gz(to_json(sources), path)


def write_json_gz(doc: Any, path: str | Path) -> Path:
    """Write ``doc`` as compact gzipped JSON, reproducibly: no timestamp in the gzip
    header, so a rebuild of the same content gives the same bytes."""
    path = Path(path)
    data = json.dumps(doc, separators=(",", ":")).encode()
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(data)
    return path


def load(task: str, path: str | Path | None = None) -> TransferSources:
    """The shipped sources of ``task`` (or those in the file at ``path``), read once.

    Raises
    ------
    PortfolioError
        When the file is missing, unreadable, of another schema version or task type.
    """
    return _load(task, str(Path(path) if path is not None else transfer_path(task)))


def read(task: str, path: str | Path) -> TransferSources:
    """The sources of ``task`` in the file at ``path``, read now (see :func:`load`)."""
    try:
        with gzip.open(path, "rt") as f:
            doc = json.load(f)
    except (OSError, ValueError) as exc:
        raise PortfolioError(f"Cannot read the transfer sources {path}: {exc}") from exc
    sources = from_json(doc, where=path)
    if sources.task != task:
        raise PortfolioError(f"{path} holds {sources.task} sources, not {task}.")
    return sources


_load = lru_cache(maxsize=4)(read)


# -- the experience store -----------------------------------------------------------------------


def from_experience(link, task: str, n_classes: int | None,
                    metafeature_names: Sequence[str], limit: int = 50) -> TransferSources:
    """The stored fits of the experience store as sources (the ``limit`` most recent of the
    task's kind); empty after an error of the store (see
    :meth:`autometa.experience_use.FitExperience.guard`)."""
    from autometa.experience_use import PREFIX, _Stored, _vectors

    def read() -> TransferSources:
        rows = link.store.sources(task, n_classes)[:limit]
        trials = link.store.trials([r["id"] for r in rows])
        vectors = _vectors(rows, metafeature_names) if rows else []
        fits = [_Stored(r, v, trials[r["id"]]) for r, v in zip(rows, vectors, strict=True)]
        return from_rows(task, metafeature_names, [
            (fit.label, PREFIX + fit.row["uid"], fit.vector,
             [(t["config"], t["loss"] if t["status"] == "ok" else None) for t in fit.trials])
            for fit in fits])

    empty = TransferSources(task, tuple(metafeature_names), (), ())
    return link.guard(read, "read") or empty
