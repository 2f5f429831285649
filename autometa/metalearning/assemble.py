"""Turning the meta-dataset (search + matrix results) into the shipped portfolio files.

Meta-features of every corpus task are computed on all its rows (as ``fit`` computes
them on a user's data) and cached in ``metafeatures.jsonl``, so a re-run only computes
the missing ones. Only tasks on which every candidate was evaluated enter a portfolio.
"""

from __future__ import annotations

import datetime
import json
import time
from pathlib import Path

import numpy as np

from autometa import metafeatures as mf
from autometa.metalearning.build import append_jsonl, read_jsonl
from autometa.metalearning.corpus import CorpusTask
from autometa.portfolio import Portfolio, to_json
from autometa.task import TASK_TYPES


def corpus_metafeatures(tasks: list[CorpusTask], out: Path, log=print) -> dict[str, dict]:
    """Task name -> meta-features on all rows, computed once and cached in ``out``."""
    path = out / "metafeatures.jsonl"
    known = {r["task"]: r["metafeatures"] for r in read_jsonl(path)}
    for ct in tasks:
        if ct.name in known:
            continue
        start = time.monotonic()
        X, y = ct.load()
        values = mf.of_table(X, y.to_numpy(), ct.task, seed=0)
        clean = {k: (None if not np.isfinite(v) else v) for k, v in values.items()}
        append_jsonl(path, [{"task": ct.name, "metafeatures": clean}])
        known[ct.name] = clean
        log(f"[metafeatures] {ct.name} ({time.monotonic() - start:.2f} s)")
    return known


def matrix_by_task(out: Path, field: str = "loss") -> dict[str, dict[str, float | None]]:
    """Task name -> candidate id -> ``field`` of its matrix record (a loss is ``None`` when
    the candidate failed)."""
    table: dict[str, dict[str, float | None]] = {}
    for r in read_jsonl(out / "matrix.jsonl"):
        table.setdefault(r["task"], {})[r["candidate"]] = r[field]
    return table


def assemble(tasks: list[CorpusTask], out: Path, task_type: str, corpus: str,
             log=print) -> Portfolio:
    """The portfolio of ``task_type`` from the meta-data in ``out``."""
    cands = json.loads((out / "candidates.json").read_text())[task_type]
    ids = sorted(cands)
    table, times = matrix_by_task(out), matrix_by_task(out, "wall_time")
    complete = [ct for ct in tasks if ct.task == task_type
                and set(ids) <= set(table.get(ct.name, {}))]
    features = corpus_metafeatures(complete, out, log)
    names = mf.names(task_type)
    fidelity = json.loads((out / "fidelity.json").read_text())
    group = {ct.name: ct.group for ct in tasks}
    rows = [min(features[ct.name]["simple.n_rows"], fidelity["max_rows"]) for ct in complete]
    import autometa

    return Portfolio(
        task=task_type,
        metafeature_names=tuple(names),
        tasks=tuple(ct.name for ct in complete),
        groups=tuple(ct.group for ct in complete),
        metafeatures=np.array([[_num(features[ct.name].get(n)) for n in names]
                               for ct in complete], dtype=float).reshape(len(complete),
                                                                         len(names)),
        configs=tuple(cands[i]["config"] for i in ids),
        sources=tuple(cands[i]["source"] for i in ids),
        source_groups=tuple(group.get(cands[i]["source"], cands[i]["source"]) for i in ids),
        losses=np.array([[_num(table[ct.name][i]) for i in ids] for ct in complete],
                        dtype=float).reshape(len(complete), len(ids)),
        times=np.array([[_num(times[ct.name][i]) for i in ids] for ct in complete],
                       dtype=float).reshape(len(complete), len(ids)),
        fit_rows=np.array([(fidelity["n_splits"] - 1) * r for r in rows], dtype=float),
        provenance={
            "corpus": corpus,
            "corpus_tasks": sum(ct.task == task_type for ct in tasks),
            "tasks_in_portfolio": len(complete),
            "candidates": len(ids),
            "candidate_rule": "every family's default, then the best configuration found "
                              "on a task, round-robin over families in a seeded task order",
            "fidelity": fidelity,
            "built": datetime.date.today().isoformat(),
            "autometa_version": autometa.__version__,
            "loss": "minus the default metric (ROC AUC binary, log loss multiclass, RMSE)",
        },
    )


def _num(value) -> float:
    return np.nan if value is None else float(value)


def write_portfolios(tasks: list[CorpusTask], out: Path, target: Path, corpus: str,
                     log=print) -> list[Path]:
    """Write ``<task type>.json`` into ``target`` for each task type with any complete task."""
    written = []
    for task_type in TASK_TYPES:
        portfolio = assemble(tasks, out, task_type, corpus, log)
        if not portfolio.tasks:
            log(f"[assemble] {task_type}: no task has a complete row yet; nothing written")
            continue
        path = target / f"{task_type}.json"
        path.write_text(json.dumps(to_json(portfolio), indent=None, separators=(",", ":")))
        log(f"[assemble] {task_type}: {len(portfolio.tasks)} tasks x "
            f"{len(portfolio.configs)} candidates -> {path}")
        written.append(path)
    return written
