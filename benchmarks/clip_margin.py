"""How far may a regression member predict beyond the training target's range?

autometa clips each regression member's predictions to the training target's range widened
by ``autometa.final.RANGE_MARGIN`` of its span. This benchmark measures the margin on exact
pairs: one fit per (task, seed) — ended by its number of trials, ``n_jobs=1``, on the 75/25
split of ``compare.py``, its portfolio without the task's group — whose test RMSE is then
computed with every margin of ``MARGINS`` and without clipping. Tasks: ``--only`` names,
then a seeded choice of the corpus's regression tasks of at most ``--max-rows`` rows up to
``--tasks`` in all. Rows are appended to ``OUT/results.jsonl``; a re-run skips what is done::

    python benchmarks/clip_margin.py run --only diamonds nycflights --tasks 41 --seeds 0 1
    python benchmarks/clip_margin.py report
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import compare
import numpy as np
import provenance

OUT = compare.HERE / "results" / "clip_margin"
MARGINS = (0.0, 0.05, 0.1, 0.25, 0.5, 1.0)


def regression_tasks(corpus: list[compare.Task], only: list[str], n: int, max_rows: int,
                     seed: int = 7) -> list[compare.Task]:
    """The ``only`` tasks, then a seeded choice of small regression tasks up to ``n``."""
    named = [t for name in only for t in corpus if t.name == name]
    pool = [t for t in corpus if t.type == "regression" and t.n_rows <= max_rows]
    order = np.random.default_rng(seed).permutation(len(pool))
    return (named + [pool[i] for i in order if pool[i] not in named])[:n]


def fit_and_score(task: compare.Task, corpus: list[compare.Task], seed: int,
                  evals: int) -> dict:
    """One fit of ``task``, its test RMSE under each margin and unclipped (``"none"``)."""
    from autometa import AutoMetaRegressor

    X, y, X_test, y_test, portfolio = compare.held_out(task, corpus, seed)
    model = AutoMetaRegressor(time_budget=3600, max_evals=evals, n_jobs=1, random_state=seed,
                              portfolio=portfolio).fit(X, y)
    low, high = float(np.min(y)), float(np.max(y))
    fitted = model.ensemble_
    scores = {}
    for margin in (*MARGINS, None):
        bounds = None if margin is None else (low - margin * (high - low),
                                              high + margin * (high - low))
        model.ensemble_ = dataclasses.replace(fitted, value_range=bounds)
        scores[str(margin).lower()] = compare.score("regression", y_test,
                                                    model.predict(X_test), None)
    return {"task": task.name, "seed": seed, "evals": evals, "scores": scores,
            "test_beyond_range": int(((y_test < low) | (y_test > high)).sum()),
            "n_test": len(y_test)}


def run(args: argparse.Namespace) -> None:
    corpus = compare.read_manifest(args.corpus)
    tasks = regression_tasks(corpus, args.only, args.tasks, args.max_rows)
    args.out.mkdir(parents=True, exist_ok=True)
    provenance.record(args.out / "run.json", "run")
    path = args.out / "results.jsonl"
    done = {(r["task"], r["seed"]) for r in compare.read_rows(path)}
    for task in tasks:
        for seed in args.seeds:
            if (task.name, seed) in done:
                continue
            row = fit_and_score(task, corpus, seed, args.evals)
            with path.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"{task.name} s{seed}: {row['scores']}", flush=True)


def report(args: argparse.Namespace) -> None:
    rows = compare.read_rows(args.out / "results.jsonl")
    lines = [f"{len(rows)} runs. Test RMSE change against no clipping:", "",
             "| margin | better / worse / same | mean | best | worst |", "|---" * 5 + "|"]
    for margin in MARGINS:
        change = np.array([100 * (r["scores"][str(margin)] / r["scores"]["none"] - 1)
                           for r in rows])
        better, worse = int((change < -1e-6).sum()), int((change > 1e-6).sum())
        lines.append(f"| {margin:g} | {better} / {worse} / {len(change) - better - worse} | "
                     f"{change.mean():+.2f} % | {change.min():+.2f} % | {change.max():+.2f} % |")
    (args.out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--corpus", type=Path, default=compare.ROOT.parent / "shared" / "datasets")
    r.add_argument("--only", nargs="*", default=[])
    r.add_argument("--tasks", type=int, default=41)
    r.add_argument("--max-rows", type=int, default=20_000)
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    r.add_argument("--evals", type=int, default=30)
    r.add_argument("--out", type=Path, default=OUT)
    p = sub.add_parser("report")
    p.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    run(args) if args.command == "run" else report(args)


if __name__ == "__main__":
    main()
