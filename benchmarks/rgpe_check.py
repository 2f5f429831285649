"""A quick end-to-end check of surrogate transfer: SMAC with its random forest against RGPE.

On a seeded handful of corpus tasks, at the meta-dataset's fidelity (subsampled rows,
3-fold CV, default metric), each task's group left out of the portfolio and of the
transfer sources: the same warm start (``--design`` picks of the held-out portfolio),
then SMAC proposes the rest of ``--evals`` trials, learning with ``rf`` or ``rgpe``. One
worker, ended by the number of trials (not by time), so the machine's load does not
change what is compared. Prints each task's best validation loss after k trials, and
appends them to ``--out`` (JSON lines).

    nice -n 19 python benchmarks/rgpe_check.py --corpus ../shared/datasets --tasks 6
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from autometa.initial_design import InitialDesign
from autometa.metalearning.build import Fidelity, space_for, task_data
from autometa.metalearning.corpus import load_corpus
from autometa.pool import LocalPool
from autometa.portfolio import load as load_portfolio
from autometa.search import SearchSettings, run_search
from autometa.surrogate import choose_surrogate
from autometa.transfer import load as load_sources

CHECKPOINTS = (5, 10, 15, 20, 25, 30)


def best_after(losses: list[float | None], k: int) -> float:
    seen = [v for v in losses[:k] if v is not None]
    return min(seen) if seen else float("nan")


def run_task(ct, pool: LocalPool, fidelity: Fidelity, n_design: int, n_evals: int,
             seed: int) -> dict[str, list[float | None]]:
    """Losses in trial order with each surrogate."""
    sources = load_sources(ct.task)
    task = sources.tasks[sources.names.index(ct.name)]
    metafeatures = dict(zip(sources.metafeature_names, task.metafeatures, strict=True))
    held_out = load_portfolio(ct.task).without([ct.group])
    pool.set_data(task_data(ct, fidelity))
    out = {}
    for surrogate in ("rf", "rgpe"):
        settings = SearchSettings(
            seed=seed, deadline=time.monotonic() + 10 * n_evals * fidelity.trial_time_limit,
            trial_time_limit=fidelity.trial_time_limit, max_evals=n_evals,
            initial_design=InitialDesign(held_out, "auto", metafeatures, n_design),
            surrogate=choose_surrogate(surrogate, ct.task, metafeatures, held_out),
        )
        state = run_search(space_for(ct.task), pool, settings)
        out[surrogate] = [t.loss for t in state.trials]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="../shared/datasets")
    parser.add_argument("--tasks", type=int, default=6)
    parser.add_argument("--design", type=int, default=5)
    parser.add_argument("--evals", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("rgpe_check.jsonl"))
    args = parser.parse_args()
    fidelity = Fidelity()
    tasks = load_corpus(args.corpus)
    order = np.random.default_rng(args.seed).permutation(len(tasks))[: args.tasks]
    pool = LocalPool(1)
    pool.start()
    try:
        for j in order:
            ct = tasks[j]
            start = time.monotonic()
            curves = run_task(ct, pool, fidelity, args.design, args.evals, args.seed)
            with args.out.open("a") as f:
                f.write(json.dumps({"task": ct.name, "kind": ct.task, **curves}) + "\n")
            ks = [k for k in CHECKPOINTS if k <= args.evals]
            for name, losses in curves.items():
                row = " ".join(f"{best_after(losses, k):.4f}" for k in ks)
                print(f"{ct.name:32s} {name:5s} best after {ks}: {row}", flush=True)
            print(f"  ({time.monotonic() - start:.0f} s)", flush=True)
    finally:
        pool.close()


if __name__ == "__main__":
    main()
