"""Building the meta-dataset: search each corpus task, then a task x configuration matrix.

Both phases append JSON lines to files in ``out`` as results come, so an interrupted
build continues where it stopped when run again:

* ``search.jsonl`` — every trial of a fixed SMAC budget per task (written per task,
  followed by a ``done`` marker);
* ``matrix.jsonl`` — the loss of each candidate configuration on each task;
* ``repairs.jsonl`` — (the ``repair`` phase, on request) the outcome of evaluating again
  each search trial that ended in an error, once: errors of code fixed since the search
  ran. :func:`search_records` reads the search with its repairs.

Candidates are every family's default plus the best configuration of as many tasks as
the candidate count allows; raising the count later adds candidates (the existing ones
stay) and the matrix phase evaluates only the new cells. All runs use one cheap fidelity
(:class:`Fidelity`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from autometa.components import registry
from autometa.components.target import NONE
from autometa.evaluation import Evaluation, TaskData
from autometa.metalearning.corpus import CorpusTask, subsample
from autometa.pool import Executor, LocalPool, run_jobs
from autometa.records import config_key
from autometa.sandbox import Job
from autometa.search import SearchSettings, in_order, run_search
from autometa.space import build_space, family_default, select_families
from autometa.table import Table
from autometa.task import TASK_TYPES


@dataclass(frozen=True)
class Fidelity:
    """How cheaply each task is evaluated while building the meta-dataset."""

    max_rows: int = 1500
    n_splits: int = 3
    trial_time_limit: float = 30.0
    search_trials: int = 32
    n_random: int = 4
    seed: int = 0


def task_data(ct: CorpusTask, fidelity: Fidelity) -> TaskData:
    """The task at the build fidelity: subsampled rows, k-fold CV, default metric."""
    X, y = ct.load()
    X, y = subsample(X, y, ct.task, fidelity.max_rows, fidelity.seed)
    table = Table.from_raw(X, y.to_numpy(), ct.task, "corpus")
    return TaskData.from_table(table, resampling=fidelity.n_splits, seed=fidelity.seed)


def space_for(task: str):
    """The space the portfolio's searches run on: its regression candidates learn the raw
    target (``target_transform`` keeps its default, ``"none"``)."""
    return build_space(task, select_families(task, registry()), seed=0,
                       target_transforms=(NONE,))


def default_configs(task: str) -> list[dict]:
    """Each family's default configuration."""
    return [family_default(spec, task) for spec in select_families(task, registry())]


def config_id(config: dict) -> str:
    """A stable short id of a configuration."""
    return hashlib.sha1(config_key(config).encode()).hexdigest()[:12]


def read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    lines = []
    for line in path.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut by an interruption
    return lines


def append_jsonl(path: Path, records: Iterable[dict]) -> None:
    """Append records to a JSON-lines file (one line each)."""
    with path.open("a") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")


# -- phase 1: search ---------------------------------------------------------------------


def search_task(ct: CorpusTask, pool: Executor, fidelity: Fidelity) -> list[dict]:
    """A fixed-size SMAC search on one task, starting from the family defaults."""
    data = task_data(ct, fidelity)
    pool.set_data(data)
    cs = space_for(ct.task)
    settings = SearchSettings(
        seed=fidelity.seed,
        deadline=time.monotonic() + 3 * fidelity.search_trials * fidelity.trial_time_limit,
        trial_time_limit=fidelity.trial_time_limit,
        max_evals=fidelity.search_trials,
        initial_design=in_order(default_configs(ct.task)),
        n_random_initial=fidelity.n_random,
    )
    state = run_search(cs, pool, settings)
    return [
        {"task": ct.name, "trial": t.id, "config": t.config, "loss": t.loss,
         "status": t.status, "error": t.error, "fit_time": t.fit_time, "wall_time": t.wall_time}
        for t in state.trials
    ]


def run_search_phase(tasks: list[CorpusTask], pool: Executor, out: Path,
                     fidelity: Fidelity, log=print) -> None:
    path = out / "search.jsonl"
    done = {r["task"] for r in read_jsonl(path) if r.get("done")}
    for i, ct in enumerate(tasks):
        if ct.name in done:
            continue
        start = time.monotonic()
        records = search_task(ct, pool, fidelity)
        append_jsonl(path, [*records, {"task": ct.name, "done": True}])
        best = min((r["loss"] for r in records if r["loss"] is not None), default=None)
        log(f"[search {i + 1}/{len(tasks)}] {ct.name}: best loss {best} "
            f"({time.monotonic() - start:.0f} s)")


# -- phase 2: matrix -----------------------------------------------------------------------


def best_per_task(out: Path) -> dict[str, dict]:
    """Task name -> its best search record (lowest loss)."""
    best: dict[str, dict] = {}
    for r in search_records(out):
        if r.get("loss") is not None and (r["task"] not in best
                                          or r["loss"] < best[r["task"]]["loss"]):
            best[r["task"]] = r
    return best


N_CANDIDATES = 128  # at most, per task type (every task's best and the defaults: 108 and 71)


def candidates(tasks: list[CorpusTask], out: Path, limit: int = N_CANDIDATES,
               seed: int = 0) -> dict[str, dict[str, dict]]:
    """Task type -> candidate id -> ``{"config": ..., "source": ...}``.

    Every family's default (source ``"default"``), then the best configuration found
    on each task (source: that task's name), taken round-robin over model families in a
    seeded random task order until ``limit`` candidates per task type (a full task x task
    matrix would cost hours more). A larger ``limit`` continues the same sequence, so its
    candidates include those of a smaller one.
    """
    kind = {t.name: t.task for t in tasks}
    best = {name: r for name, r in best_per_task(out).items() if name in kind}
    rng = np.random.default_rng(seed)
    pool: dict[str, dict[str, dict]] = {}
    for task in TASK_TYPES:
        chosen = {config_id(c): {"config": c, "source": "default"}
                  for c in default_configs(task)}
        names = [n for n in sorted(best) if kind[n] == task]
        by_family: dict[str, list[tuple[str, dict]]] = {}
        for n in rng.permutation(names):
            config = best[n]["config"]
            by_family.setdefault(config["model"], []).append((str(n), config))
        while len(chosen) < limit and any(by_family.values()):
            for family in sorted(by_family):
                if by_family[family] and len(chosen) < limit:
                    source, config = by_family[family].pop(0)
                    chosen.setdefault(config_id(config), {"config": config, "source": source})
        pool[task] = chosen
    return pool


def fixed_candidates(tasks: list[CorpusTask], out: Path, limit: int = N_CANDIDATES
                     ) -> dict[str, dict[str, dict]]:
    """The candidates recorded in ``out/candidates.json``, extended to ``limit`` per task type.

    Once recorded, a candidate stays (a resumed build must not change what earlier matrix
    cells measured); a larger ``limit`` adds the next ones of :func:`candidates`' sequence.
    """
    path = out / "candidates.json"
    recorded = json.loads(path.read_text()) if path.is_file() else {}
    wanted = candidates(tasks, out, limit)
    for task, pool in wanted.items():
        have = recorded.setdefault(task, {})
        for key in pool:
            if len(have) >= limit:
                break
            have.setdefault(key, pool[key])
    path.write_text(json.dumps(recorded, indent=1, sort_keys=True))
    return recorded


def run_matrix_phase(tasks: list[CorpusTask], pool: Executor, out: Path,
                     fidelity: Fidelity, log=print, n_candidates: int = N_CANDIDATES) -> None:
    """Evaluate every candidate on every task (tasks in a seeded random order, so that a
    partial matrix is a fair sample of the corpus); cells already measured are skipped."""
    path = out / "matrix.jsonl"
    cands = fixed_candidates(tasks, out, n_candidates)
    done = {(r["task"], r["candidate"]) for r in read_jsonl(path)}
    order = np.random.default_rng(fidelity.seed).permutation(len(tasks))
    for i, ct in enumerate(tasks[j] for j in order):
        todo = {k: c["config"] for k, c in cands[ct.task].items() if (ct.name, k) not in done}
        if not todo:
            continue
        start = time.monotonic()
        pool.set_data(task_data(ct, fidelity))
        for result in evaluate_all(pool, todo, fidelity):
            outcome = result.value if result.ok else None
            append_jsonl(path, [{
                "task": ct.name, "candidate": result.job.key,
                "loss": None if outcome is None else outcome.loss,
                "status": result.status, "error": result.error, "wall_time": result.wall_time,
            }])
        log(f"[matrix {i + 1}/{len(tasks)}] {ct.name}: {len(todo)} candidates "
            f"({time.monotonic() - start:.0f} s)")


def evaluate_all(pool: Executor, configs: dict, fidelity: Fidelity):
    """Evaluate ``configs`` (key -> configuration) on the pool's data; yield results."""
    jobs = (Job(key, Evaluation(config, fidelity.seed), float("inf"), fidelity.trial_time_limit)
            for key, config in configs.items())
    return run_jobs(pool, jobs)


# -- repairs ------------------------------------------------------------------------------

REPAIRS = "repairs.jsonl"


def search_records(out: Path) -> list[dict]:
    """The search phase's records, each failed trial's replaced by its repair (when the
    ``repair`` phase evaluated it again)."""
    repairs = {(r["task"], r["trial"]): r for r in read_jsonl(out / REPAIRS)}
    return [{**r, **repairs.get((r["task"], r.get("trial")), {})}
            for r in read_jsonl(out / "search.jsonl")]


def run_repair_phase(tasks: list[CorpusTask], pool: Executor, out: Path,
                     fidelity: Fidelity, log=print) -> None:
    """Evaluate again, once, every search trial that ended in an error (not a timeout: its
    time limit stands) and is not repaired yet; append the outcomes to ``repairs.jsonl``.

    The search itself is not re-run: SMAC chose the later trials of a task knowing the
    failure, which stays so. What the repairs change is what the meta-data knows of those
    configurations (the transfer sources, the hp-learner, and candidates chosen later).
    """
    path = out / REPAIRS
    repaired = {(r["task"], r["trial"]) for r in read_jsonl(path)}
    failed: dict[str, dict[str, dict]] = {}
    for r in read_jsonl(out / "search.jsonl"):
        if r.get("status") == "error" and (r["task"], r["trial"]) not in repaired:
            failed.setdefault(r["task"], {})[str(r["trial"])] = r["config"]
    todo = [ct for ct in tasks if ct.name in failed]
    for i, ct in enumerate(todo):
        start = time.monotonic()
        pool.set_data(task_data(ct, fidelity))
        results = list(evaluate_all(pool, failed[ct.name], fidelity))
        append_jsonl(path, [{
            "task": ct.name, "trial": int(result.job.key),
            "loss": result.value.loss if result.ok else None,
            "status": result.status, "error": result.error,
            "fit_time": result.value.fit_time if result.ok else None,
            "wall_time": result.wall_time,
        } for result in results])
        log(f"[repair {i + 1}/{len(todo)}] {ct.name}: {sum(r.ok for r in results)} of "
            f"{len(results)} failed trials now succeed ({time.monotonic() - start:.0f} s)")


def build_metadata(tasks: list[CorpusTask], out: Path, n_workers: int = 2,
                   fidelity: Fidelity = Fidelity(), phases=("search", "matrix"),
                   log=print, n_candidates: int = N_CANDIDATES) -> None:
    """Run (or continue) the meta-dataset build with at most ``n_candidates`` candidates
    per task type; results land in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "fidelity.json").write_text(json.dumps(asdict(fidelity), indent=1))
    pool = LocalPool(n_workers)
    pool.start()
    try:
        if "search" in phases:
            run_search_phase(tasks, pool, out, fidelity, log)
        if "matrix" in phases:
            run_matrix_phase(tasks, pool, out, fidelity, log, n_candidates)
        if "repair" in phases:
            run_repair_phase(tasks, pool, out, fidelity, log)
    finally:
        pool.close()
