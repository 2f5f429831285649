"""Meta-learning beyond the first trials, measured on real search curves (leave-one-group-out).

On a seeded subset of the corpus's tasks, at the meta-dataset's fidelity (subsampled rows,
3-fold CV, default metric), one worker, every search ended by its number of trials (not
by time, so the machine's load does not change what is compared). Each task's group is
held out of every learned part: the portfolio, the transfer sources of RGPE, and the
hp-learner (trained by grouped ``FOLDS``-fold over the corpus's groups; the task uses the
learner whose fold holds its group out). Arms:

- ``portfolio``: today's default, the initial design (``--design`` picks) then SMAC with
  its random forest;
- ``rgpe``: the same initial design, then SMAC with RGPE;
- ``learner``: the initial design, ``--learned`` hp-learner picks, then SMAC (forest);
- ``learner+rgpe``: both, the hp-learner also a source model of RGPE;
- ``cold``: SMAC alone (its random initial design, forest);
- ``random``: random configurations.

Each (task, arm, seed) appends its losses in trial order to ``OUT/results.jsonl``; a
re-run skips what is there. ``report`` prints the median and mean normalised regret after
k evaluations (0 = the best loss any arm found on the task, 1 = the worst) and how often
each arm ends worse than ``cold``::

    nice -n 19 python benchmarks/search_curves.py run --tasks 80 --evals 50
    python benchmarks/search_curves.py report

``--shard K N`` runs every N-th task from the K-th, so N processes share the cores (the
trial counts, not the clock, end each search). The arms of a task share their first
configurations (the initial design); an evaluation already run on the task is answered
from memory (:class:`CachedPool`: the same configuration, seed and fidelity give the same
loss), which saves about a fifth of the trials.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import provenance

from autometa.components import registry
from autometa.hplearner import HPLearner, train
from autometa.hplearner import load as load_learner
from autometa.initial_design import LEARNED_ORIGIN, InitialDesign, learned_picks
from autometa.metalearning.build import Fidelity, space_for, task_data
from autometa.metalearning.corpus import load_corpus
from autometa.pool import LocalPool
from autometa.portfolio import load as load_portfolio
from autometa.records import config_key
from autometa.sandbox import Job, JobResult
from autometa.search import SearchSettings, in_order, run_search
from autometa.space import select_families, to_dict
from autometa.surrogate import choose_surrogate
from autometa.transfer import load as load_sources

OUT = Path(__file__).resolve().parent / "results" / "search_curves"
ARMS = ("portfolio", "rgpe", "learner", "learner+rgpe", "cold", "random")
FOLDS = 5
CHECKPOINTS = (1, 5, 10, 25, 50)


class CachedPool:
    """The study's executor: a :class:`~autometa.pool.LocalPool` that answers an evaluation
    it has run on the current data before from memory, at once."""

    def __init__(self, pool: LocalPool) -> None:
        self.pool, self.cache, self.ready = pool, {}, []

    @property
    def capacity(self) -> int:
        return self.pool.capacity

    def start(self) -> None:
        self.pool.start()

    def set_data(self, data) -> None:
        self.cache.clear()
        self.pool.set_data(data)

    def idle(self) -> int:
        return 0 if self.ready else self.pool.idle()  # an answer waits like a running job

    def submit(self, job: Job) -> None:
        known = self.cache.get(_evaluation_key(job))
        if known is None:
            self.pool.submit(job)
        else:
            self.ready.append(replace(known, job=job))

    def wait(self, timeout: float) -> list[JobResult]:
        if self.ready:
            done, self.ready = self.ready, []
            return done
        results = self.pool.wait(timeout)
        for result in results:
            self.cache[_evaluation_key(result.job)] = result
        return results

    def cancel(self) -> list[Job]:
        self.ready = []
        return self.pool.cancel()

    def release(self) -> None:
        self.pool.release()

    def close(self) -> None:
        self.pool.close()


def _evaluation_key(job: Job) -> tuple:
    evaluation = job.run
    return (config_key(evaluation.config), evaluation.seed, evaluation.rows)


def fold_of(groups: list[str]) -> dict[str, int]:
    """Each corpus group's fold: a seeded split of the sorted groups into ``FOLDS``."""
    names = sorted(set(groups))
    order = np.random.default_rng(0).permutation(len(names))
    return {names[j]: i % FOLDS for i, j in enumerate(order)}


def learner_for(task_type: str, fold: int, folds: dict[str, int], out: Path) -> HPLearner:
    """The hp-learner trained without the groups of ``fold`` (cached in ``out``)."""
    path = out / "learners" / f"{task_type}-{fold}.json.gz"
    if path.exists():
        return load_learner(task_type, path)
    held = [g for g, f in folds.items() if f == fold]
    learner = train(load_sources(task_type).without(held), space_for(task_type), seed=fold)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = learner.save(path.with_name(f"{path.name}.{os.getpid()}.json.gz"))
    partial.replace(path)  # whole, even when another shard trains the same fold
    return learner


def settings_for(arm: str, ct, metafeatures: dict, learner: HPLearner, args,
                 fidelity: Fidelity, seed: int) -> SearchSettings:
    """How the search of one arm runs."""
    held_out = load_portfolio(ct.task).without([ct.group])
    families = [f.name for f in select_families(ct.task, registry())]
    design = None
    if arm not in ("cold", "random"):
        learned = learned_picks(learner, metafeatures, families, args.learned, seed) \
            if arm.startswith("learner") else None
        design = InitialDesign(held_out, "auto", metafeatures, args.design, learned=learned,
                               n_learned=args.learned if learned else 0)
    elif arm == "random":
        space = space_for(ct.task)
        space.seed(seed)
        design = in_order([to_dict(c) for c in space.sample_configuration(args.evals)])
    surrogate = "rgpe" if arm.endswith("rgpe") else "rf"
    return SearchSettings(
        seed=seed, deadline=time.monotonic() + 10 * args.evals * fidelity.trial_time_limit,
        trial_time_limit=fidelity.trial_time_limit, max_evals=args.evals,
        initial_design=design, n_random_initial=10 if arm == "cold" else 0,
        surrogate=choose_surrogate(surrogate, ct.task, metafeatures, held_out,
                                   learner=learner if arm == "learner+rgpe" else None),
    )


def run_arm(ct, arm: str, pool: CachedPool, learner: HPLearner, args, seed: int) -> dict:
    """The losses (``None``: failed) and origins of one arm's search on one task."""
    fidelity = Fidelity()
    sources = load_sources(ct.task)
    source = sources.tasks[sources.names.index(ct.name)]
    metafeatures = dict(zip(sources.metafeature_names, source.metafeatures, strict=True))
    start = time.monotonic()
    state = run_search(space_for(ct.task), pool,
                       settings_for(arm, ct, metafeatures, learner, args, fidelity, seed))
    return {"task": ct.name, "kind": ct.task, "group": ct.group, "arm": arm, "seed": seed,
            "losses": [t.loss if t.ok else None for t in state.trials],
            "origins": [t.origin for t in state.trials],
            "seconds": round(time.monotonic() - start, 1)}


def chosen(corpus: str, n: int) -> list:
    """``n`` corpus tasks with transfer observations, a seeded choice."""
    tasks = [t for t in load_corpus(corpus)
             if t.name in set(load_sources(t.task).names)]
    return [tasks[j] for j in np.random.default_rng(0).permutation(len(tasks))[:n]]


def run(args: argparse.Namespace) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    provenance.record(args.out / "run.json", "run")
    results = args.out / "results.jsonl"
    done = {(r["task"], r["arm"], r["seed"]) for r in _rows(results)}
    shard, n_shards = args.shard
    tasks = chosen(args.corpus, args.tasks)[shard::n_shards]
    folds = fold_of([t.group for t in load_corpus(args.corpus)])
    pool = CachedPool(LocalPool(1))
    pool.start()
    try:
        for ct in tasks:
            learner = learner_for(ct.task, folds[ct.group], folds, args.out)
            pool.set_data(task_data(ct, Fidelity()))
            for seed in args.seeds:
                for arm in args.arms:
                    if (ct.name, arm, seed) in done:
                        continue
                    row = run_arm(ct, arm, pool, learner, args, seed)
                    with results.open("a") as f:
                        f.write(json.dumps(row) + "\n")
                    best = min((x for x in row["losses"] if x is not None), default=None)
                    print(f"{ct.name:32s} s{seed} {arm:13s} best {best} "
                          f"({row['seconds']} s)", flush=True)
    finally:
        pool.close()


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open()] if path.exists() else []


def regret_curves(rows: list[dict], ks=CHECKPOINTS):
    """Per (task, seed, arm), the normalised regret of the best loss after each k."""
    import pandas as pd

    out = []
    frame = pd.DataFrame(rows)
    for (_, _), runs in frame.groupby(["task", "seed"]):
        seen = [x for losses in runs["losses"] for x in losses if x is not None]
        if not seen:
            continue
        low, high = min(seen), max(seen)
        for _, r in runs.iterrows():
            curve = {"task": r["task"], "kind": r["kind"], "seed": r["seed"], "arm": r["arm"]}
            for k in ks:
                best = min((x for x in r["losses"][:k] if x is not None), default=high)
                curve[k] = 0.0 if high <= low else (best - low) / (high - low)
            out.append(curve)
    return pd.DataFrame(out)


def report(args: argparse.Namespace) -> None:
    curves = regret_curves(_rows(args.out / "results.jsonl"))
    per_task = curves.groupby(["task", "arm"]).mean(numeric_only=True)
    ks = [k for k in CHECKPOINTS if k in per_task.columns]
    complete = per_task.groupby("task").size() == per_task.index.get_level_values("arm").nunique()
    tasks = complete[complete].index
    per_task = per_task.loc[list(tasks)]
    print(f"{len(tasks)} tasks with every arm; normalised regret (mean over seeds), "
          "median / mean over tasks:")
    table = per_task.groupby("arm")[ks].agg(["median", "mean"])
    print(table.round(4).to_string())
    cold = per_task.xs("cold", level="arm")
    last = ks[-1]
    for arm in per_task.index.get_level_values("arm").unique():
        mine = per_task.xs(arm, level="arm")
        worse = int((mine[last] > cold[last] + 1e-12).sum())
        print(f"{arm:13s} worse than cold after {last}: {worse} of {len(mine)} tasks "
              f"({100 * worse / len(mine):.0f} %)")
    print(f"(hp-learner picks are marked {LEARNED_ORIGIN!r} in the results' origins)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--corpus", default="../shared/datasets")
    r.add_argument("--tasks", type=int, default=80)
    r.add_argument("--evals", type=int, default=50)
    r.add_argument("--design", type=int, default=16)
    r.add_argument("--learned", type=int, default=8)
    r.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    r.add_argument("--seeds", type=int, nargs="+", default=[0])
    r.add_argument("--out", type=Path, default=OUT)
    r.add_argument("--shard", type=int, nargs=2, default=(0, 1), metavar=("K", "N"),
                   help="run every N-th task from the K-th (K in 0..N-1)")
    r.set_defaults(run=run)
    s = sub.add_parser("report")
    s.add_argument("--out", type=Path, default=OUT)
    s.set_defaults(run=report)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
