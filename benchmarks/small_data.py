"""Resampling schemes on the corpus's small tasks: single k-fold against repeated k-fold.

For each task of the corpus under ``--max-rows`` rows (one per group, a seeded choice of
``--tasks``, a third of each type as in ``compare.py``), seed, budget and scheme,
autometa fits the 75/25 training split of ``compare.py`` (its portfolio without the
task's group) and is scored on the test split with the comparison's metric (ROC AUC,
log loss, RMSE). Rows are appended to ``OUT/results.jsonl`` as they come; a re-run
skips what is done.

Usage::

    python benchmarks/small_data.py run --budgets 10 60 --seeds 0 1
    python benchmarks/small_data.py report
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import compare
import compare_runner
import numpy as np
import pandas as pd
import provenance

OUT = compare.HERE / "results" / "small_data"
SCHEMES = ("auto", "repeated_cv")


def fit_and_score(task: compare.Task, corpus: list[compare.Task], scheme: str, seed: int,
                  budget: float, n_jobs: int) -> dict:
    """One fit of ``task`` under a resampling ``scheme``, scored on the test split."""
    from autometa import AutoMetaClassifier, AutoMetaRegressor

    X, y, X_test, y_test, portfolio = compare.held_out(task, corpus, seed)
    cls = AutoMetaRegressor if task.type == "regression" else AutoMetaClassifier
    start = time.monotonic()
    model = cls(time_budget=budget, resampling=scheme, n_jobs=n_jobs, random_state=seed,
                portfolio=portfolio).fit(X, y)
    fit_s = time.monotonic() - start
    if task.type == "regression":
        pred = model.predict(X_test)
    else:
        pred = compare_runner.align_proba(model.predict_proba(X_test), list(model.classes_),
                                          task.n_classes)
    return {"task": task.name, "type": task.type, "scheme": scheme, "seed": seed,
            "budget": budget, "score": compare.score(task.type, y_test, pred, task.n_classes),
            "n_trials": len(model.trials_), "members": len(model.ensemble_.members),
            "fit_s": fit_s, "n_rows": task.n_rows}


def run(args: argparse.Namespace) -> None:
    corpus = compare.read_manifest(args.corpus)
    tasks = compare.select_tasks(corpus, args.tasks, 0, max_rows=args.max_rows)
    args.out.mkdir(parents=True, exist_ok=True)
    provenance.record(args.out / "run.json", "run")
    path = args.out / "results.jsonl"
    done = {(r["task"], r["scheme"], r["seed"], r["budget"]) for r in compare.read_rows(path)}
    for budget in args.budgets:
        for task in tasks:
            for seed in args.seeds:
                for scheme in args.schemes:
                    if (task.name, scheme, seed, budget) in done:
                        continue
                    row = fit_and_score(task, corpus, scheme, seed, budget, args.n_jobs)
                    with path.open("a") as f:
                        f.write(json.dumps(row) + "\n")
                    print(f"{budget:g} s {task.name} s{seed} {scheme}: {row['score']:.4f} "
                          f"({row['n_trials']} trials)", flush=True)


def report(args: argparse.Namespace) -> None:
    rows = pd.DataFrame(compare.read_rows(args.out / "results.jsonl"))
    sign = np.where(rows["type"] == "binary", 1.0, -1.0)  # ROC AUC up, log loss / RMSE down
    rows["signed"] = sign * rows["score"]
    wide = rows.pivot_table(index=["budget", "task", "seed", "type"], columns="scheme",
                            values="signed").dropna().reset_index()
    lines = ["| budget | type | runs | repeated_cv better / worse / same vs auto "
             "| mean change, % |", "|---" * 5 + "|"]
    for (budget, kind), part in wide.groupby(["budget", "type"]):
        diff = part["repeated_cv"] - part["auto"]
        change = 100 * (diff / part["auto"].abs()).mean()
        lines.append(f"| {budget:g} s | {kind} | {len(part)} | {(diff > 1e-12).sum()}-"
                     f"{(diff < -1e-12).sum()}-{(diff.abs() <= 1e-12).sum()} | {change:+.2f} |")
    (args.out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--corpus", type=Path, default=compare.ROOT.parent / "shared" / "datasets")
    r.add_argument("--tasks", type=int, default=15)
    r.add_argument("--max-rows", type=int, default=500)
    r.add_argument("--schemes", nargs="+", choices=SCHEMES, default=list(SCHEMES))
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    r.add_argument("--budgets", type=float, nargs="+", default=[10, 60])
    r.add_argument("--n-jobs", type=int, default=1)
    r.add_argument("--out", type=Path, default=OUT)
    p = sub.add_parser("report")
    p.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    run(args) if args.command == "run" else report(args)


if __name__ == "__main__":
    main()
