"""Temperature scaling of the ensemble's probabilities on the multiclass tasks of the corpus.

For the multiclass tasks of the ``compare.py`` choice (``--tasks 30``: 10 multiclass) and
each seed, autometa fits the 75/25 training split of ``compare.py`` with log loss (its
portfolio without the task's group), and the test split is scored from the same fit: with
``predict_proba`` (scaled by ``temperature_``), with the ensemble's own blend (no
scaling) and with the temperature fitted on all validation rows without the
cross-validation guard. Rows are appended to ``OUT/results.jsonl`` as they come; a
re-run skips what is done.

Usage::

    python benchmarks/calibration.py run --seeds 0 1 --budget 20 --n-jobs 1
    python benchmarks/calibration.py report
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import compare
import numpy as np
import pandas as pd
import provenance

OUT = compare.HERE / "results" / "calibration"


class KeepResult:
    """A fit callback that keeps the fit's result (its validation predictions)."""

    result = None

    def on_start(self, plan, data) -> None:
        pass

    def on_trial(self, trial) -> None:
        pass

    def on_end(self, result) -> None:
        self.result = result


def multiclass_tasks(corpus: list[compare.Task], n: int, select_seed: int) -> list[compare.Task]:
    """The multiclass tasks of ``compare.py``'s seeded choice of ``n`` tasks."""
    return [t for t in compare.select_tasks(corpus, n, select_seed) if t.type == "multiclass"]


def validation_temperature(result) -> tuple[float, float]:
    """The temperature fitted on all validation rows (no guard) and the cross-validated
    gain the guard saw."""
    from autometa.calibration import cross_validated_gain, fit_temperature
    from autometa.ensemble import blend

    data, state = result.data, result.state
    y_val = data.y[data.val_index]
    blended = blend(result.ensemble.weights, state.predictions)
    return (fit_temperature(y_val, blended, data.metric.loss),
            cross_validated_gain(y_val, blended, data.metric.loss, result.seed)[0])


def run_one(task: compare.Task, corpus: list[compare.Task], seed: int, budget: float,
            n_jobs: int) -> dict:
    from autometa import AutoMetaClassifier
    from autometa.calibration import apply_temperature

    X, y, X_test, y_test, portfolio = compare.held_out(task, corpus, seed)
    kept = KeepResult()
    start = time.monotonic()
    model = AutoMetaClassifier(time_budget=budget, metric="neg_log_loss", n_jobs=n_jobs,
                               random_state=seed, portfolio=portfolio,
                               callbacks=[kept]).fit(X, y)
    fit_s = time.monotonic() - start
    unguarded, gain = validation_temperature(kept.result)
    raw = model.ensemble_.predict(model.schema_.transform(X_test))
    scaled = model.predict_proba(X_test)

    def loss(proba):
        return compare.score("multiclass", y_test, np.array(proba, dtype=np.float64),
                             task.n_classes)

    return {"task": task.name, "seed": seed, "temperature": model.temperature_,
            "unguarded_temperature": unguarded, "cv_gain": gain,
            "scaled": loss(scaled), "plain": loss(raw),
            "unguarded": loss(apply_temperature(raw, unguarded)),
            "members": len(model.ensemble_.members), "fit_s": fit_s, "n_test": len(y_test),
            "n_train": len(y)}


def run(args: argparse.Namespace) -> None:
    corpus = compare.read_manifest(args.corpus)
    tasks = multiclass_tasks(corpus, args.tasks, args.select_seed)
    args.out.mkdir(parents=True, exist_ok=True)
    provenance.record(args.out / "run.json", "run")
    path = args.out / "results.jsonl"
    done = {(r["task"], r["seed"]) for r in compare.read_rows(path)}
    for seed in args.seeds:
        for task in tasks:
            if (task.name, seed) in done:
                continue
            row = run_one(task, corpus, seed, args.budget, args.n_jobs)
            with path.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"{task.name} s{seed}: T {row['temperature']:.3f} (unguarded "
                  f"{row['unguarded_temperature']:.3f}, cv gain {row['cv_gain']:.4f}); "
                  f"test log loss {row['scaled']:.4f} vs {row['plain']:.4f}", flush=True)


def report(args: argparse.Namespace) -> None:
    rows = pd.DataFrame(compare.read_rows(args.out / "results.jsonl"))
    lines = ["| task | seed | T | T unguarded | test log loss: T | no scaling | unguarded T |",
             "|---" * 7 + "|"]
    for r in rows.sort_values(["task", "seed"]).itertuples():
        lines.append(f"| {r.task} | {r.seed} | {r.temperature:.3f} | "
                     f"{r.unguarded_temperature:.3f} | {r.scaled:.4f} | {r.plain:.4f} | "
                     f"{r.unguarded:.4f} |")
    lines += ["", "| rule | fits | T != 1 | mean change | median change | better / worse / same |",
              "|---" * 6 + "|"]
    for name, column, temps in (("guarded (fit)", "scaled", rows["temperature"]),
                                ("unguarded", "unguarded", rows["unguarded_temperature"])):
        diff = rows[column] - rows["plain"]
        lines.append(f"| {name} | {len(rows)} | {(temps != 1.0).sum()} | {diff.mean():+.4f} | "
                     f"{diff.median():+.4f} | {(diff < -1e-12).sum()}-{(diff > 1e-12).sum()}-"
                     f"{(diff.abs() <= 1e-12).sum()} |")
    (args.out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--corpus", type=Path, default=compare.ROOT.parent / "shared" / "datasets")
    r.add_argument("--tasks", type=int, default=30, help="compare.py's choice of this many "
                   "tasks (its multiclass third is run)")
    r.add_argument("--select-seed", type=int, default=0)
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    r.add_argument("--budget", type=float, default=20)
    r.add_argument("--n-jobs", type=int, default=1)
    r.add_argument("--out", type=Path, default=OUT)
    p = sub.add_parser("report")
    p.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    run(args) if args.command == "run" else report(args)


if __name__ == "__main__":
    main()
