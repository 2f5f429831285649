"""Turning the meta-dataset into the shipped transfer sources (``transfer_<task>.json.gz``)
and the hp-learners trained on them (``hplearner_<task>.json.gz``).

Every corpus task with search or matrix results contributes its successful trials of
both phases (same fidelity, same splits: their losses compare), normalised per task by
:func:`autometa.transfer.task_rows`. Failed trials are left out.
"""

from __future__ import annotations

import datetime
import json
import time
from pathlib import Path

from autometa import metafeatures as mf
from autometa.metalearning.assemble import _num, corpus_metafeatures
from autometa.metalearning.build import read_jsonl, search_records
from autometa.metalearning.corpus import CorpusTask
from autometa.task import TASK_TYPES
from autometa.transfer import TransferSources, from_rows, read, transfer_path, write


def observed_trials(out: Path) -> dict[str, list[tuple[dict, float | None]]]:
    """Task name -> ``(config, loss)`` of every trial of its search (with its repairs) and
    of its matrix row (loss ``None`` for a failure)."""
    trials: dict[str, list[tuple[dict, float | None]]] = {}
    for r in search_records(out):
        if not r.get("done"):
            trials.setdefault(r["task"], []).append(
                (r["config"], r["loss"] if r["status"] == "ok" else None))
    candidates = json.loads((out / "candidates.json").read_text())
    configs = {k: c["config"] for pool in candidates.values() for k, c in pool.items()}
    for r in read_jsonl(out / "matrix.jsonl"):
        trials.setdefault(r["task"], []).append(
            (configs[r["candidate"]], r["loss"] if r["status"] == "ok" else None))
    return trials


def assemble_transfer(tasks: list[CorpusTask], out: Path, task_type: str, corpus: str,
                      log=print) -> TransferSources:
    """The transfer sources of ``task_type`` from the meta-data in ``out``."""
    import autometa

    trials = observed_trials(out)
    chosen = [ct for ct in tasks if ct.task == task_type and trials.get(ct.name)]
    features = corpus_metafeatures(chosen, out, log)
    names = mf.names(task_type)
    fidelity = json.loads((out / "fidelity.json").read_text())
    n_failed = sum(loss is None for ct in chosen for _, loss in trials[ct.name])
    rows = [(ct.name, ct.group, [_num(features[ct.name].get(n)) for n in names],
             trials[ct.name]) for ct in chosen]
    return from_rows(task_type, names, rows, provenance={
        "corpus": corpus,
        "tasks": len(chosen),
        "trials_left_out": {"failed": n_failed},
        "observations": "the successful trials of each task's search and matrix row, a "
                        "configuration measured twice at its mean loss",
        "fidelity": fidelity,
        "built": datetime.date.today().isoformat(),
        "autometa_version": autometa.__version__,
    })


def write_transfer(tasks: list[CorpusTask], out: Path, target: Path, corpus: str,
                   log=print) -> list[Path]:
    """Write ``transfer_<task type>.json.gz`` into ``target`` for each task type with data."""
    written = []
    for task_type in TASK_TYPES:
        sources = assemble_transfer(tasks, out, task_type, corpus, log)
        if not sources.tasks:
            log(f"[transfer] {task_type}: no task has results yet; nothing written")
            continue
        path = write(sources, target / transfer_path(task_type).name)
        n_obs = sum(len(t.configs) for t in sources.tasks)
        log(f"[transfer] {task_type}: {len(sources.tasks)} tasks, {n_obs} observations of "
            f"{len(sources.configs)} configurations -> {path} ({path.stat().st_size} bytes)")
        # the learner learns from the file as shipped (its losses rounded), so that it
        # can be trained again from the package alone, to the same bytes
        written += [path, write_learner(read(task_type, path), target, log)]
    return written


def write_learner(sources: TransferSources, target: Path, log=print) -> Path:
    """Train the hp-learner of the sources' task type and write it into ``target``."""
    from autometa.hplearner import learner_path, train
    from autometa.metalearning.build import space_for

    start = time.perf_counter()
    learner = train(sources, space_for(sources.task), seed=0)
    path = learner.save(target / learner_path(sources.task).name)
    log(f"[hp-learner] {sources.task}: trained in {time.perf_counter() - start:.1f} s -> "
        f"{path} ({path.stat().st_size} bytes)")
    return path
