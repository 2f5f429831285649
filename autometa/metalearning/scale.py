"""Timing the candidates at scale: a trial's seconds on a synthetic table of many rows.

The meta-dataset times every candidate on at most 1,500 rows of each corpus task, where
fixed costs dominate: there a random forest takes a few times a LightGBM's time, on
8,000 rows of a wide table twenty times more. The cost model that screens a search over
fidelities (:mod:`autometa.cost`) extrapolates from its prior, so the ``scale`` phase
times each candidate once more on a synthetic table of :attr:`Scale.rows` training rows
(numeric and categorical columns, some missing values) and appends the result to
``scale.jsonl`` in the build's folder, resumable like the other phases. The assembled
portfolio carries each candidate's seconds there (``Portfolio.scale_seconds``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from autometa.evaluation import HOLDOUT_FRACTION, Evaluation, TaskData
from autometa.metalearning.build import append_jsonl, read_jsonl
from autometa.pool import Executor, run_jobs
from autometa.sandbox import Job
from autometa.table import Table
from autometa.task import CLASSIFICATION

SCALE_FILE = "scale.jsonl"


@dataclass(frozen=True)
class Scale:
    """The synthetic table the candidates are timed on."""

    rows: int = 8_000  # training rows of the trial
    features: int = 20  # columns, a fifth of them categorical
    time_limit: float = 60.0  # a trial stopped here counts at this time (a lower bound)
    seed: int = 0


def synthetic(task: str, scale: Scale) -> tuple[pd.DataFrame, np.ndarray]:
    """A table of ``scale.rows`` training rows plus the validation rows of a holdout:
    numeric and categorical columns, 2 % of cells missing, a nonlinear target (binary
    for classification)."""
    rng = np.random.default_rng(scale.seed)
    n = round(scale.rows / (1 - HOLDOUT_FRACTION))
    n_cat = scale.features // 5
    num = rng.normal(size=(n, scale.features - n_cat))
    X = pd.DataFrame(num, columns=[f"x{i}" for i in range(num.shape[1])])
    for j in range(n_cat):
        levels = np.array([f"c{j}_{k}" for k in range(5 + 10 * j)])
        X[f"cat{j}"] = pd.Categorical(levels[rng.integers(0, len(levels), n)])
    X = X.mask(rng.random(X.shape) < 0.02)
    signal = num[:, 0] * num[:, 1] + np.sin(num[:, 2]) + 0.5 * num[:, 3]
    signal = signal + rng.normal(scale=0.8, size=n)
    return X, (signal > 0).astype(int) if task == CLASSIFICATION else signal


def task_data(task: str, scale: Scale) -> TaskData:
    """The synthetic table as a holdout task (all its training rows used)."""
    X, y = synthetic(task, scale)
    table = Table.from_raw(X, y, task, "scale")
    return TaskData.from_table(table, resampling="holdout", seed=scale.seed)


def run_scale_phase(candidates: dict[str, dict[str, dict]], pool: Executor, out: Path,
                    scale: Scale = Scale(), log=print) -> None:
    """Time every candidate (task type -> id -> ``{"config": ...}``) not yet in
    ``out/scale.jsonl`` on its task type's synthetic table, one trial each."""
    path = out / SCALE_FILE
    done = {(r["task"], r["candidate"]) for r in read_jsonl(path)}
    for task, pool_of in candidates.items():
        todo = {k: c["config"] for k, c in pool_of.items() if (task, k) not in done}
        if not todo:
            continue
        data = task_data(task, scale)
        pool.set_data(data)
        jobs = (Job(k, Evaluation(c, scale.seed), float("inf"), scale.time_limit)
                for k, c in todo.items())
        for result in run_jobs(pool, jobs):
            append_jsonl(path, [{
                "task": task, "candidate": result.job.key, "status": result.status,
                "seconds": result.wall_time, "rows": len(data.splits[0][0]),
                "valid": len(data.splits[0][1]), "features": scale.features,
            }])
        log(f"[scale] {task}: {len(todo)} candidates timed on {scale.rows:,} rows")


def scale_seconds(out: Path, task: str, ids: list[str]
                  ) -> tuple[list[float | None], dict[str, int]]:
    """Each candidate's seconds at scale (``None`` when not timed or it failed; a
    time-out counts at its limit) and the table they were timed on: its training and
    validation rows (empty when none was timed)."""
    records = {r["candidate"]: r for r in read_jsonl(out / SCALE_FILE) if r["task"] == task}
    seconds = [records[i]["seconds"] if i in records
               and records[i]["status"] in ("ok", "timeout") else None for i in ids]
    table = next(({"rows": r["rows"], "valid": r["valid"]} for r in records.values()), {})
    return seconds, table
