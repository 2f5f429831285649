"""Tuned decision threshold against 0.5 on imbalanced binary tasks of the corpus.

For each chosen KEEL imbalanced task (one per group, the minority class under 20 %, at
most ``--max-rows`` rows) and seed, autometa fits the 75/25 training split of
``compare.py`` with the label metric asked for (its portfolio without the task's group),
and the test split is scored twice from the same fit: with ``predict`` (the tuned
``threshold_``) and with the argmax of ``predict_proba`` (0.5). The ensemble's blended
validation predictions and its test probabilities are kept (``OUT/arrays/``), so that
``report`` scores other rules for the threshold (``RULES``) on the same fits. Rows are
appended to ``OUT/results.jsonl`` as they come; a re-run skips what is done.

Usage::

    python benchmarks/threshold.py run --tasks 10 --metrics balanced_accuracy f1 --seeds 0 1
    python benchmarks/threshold.py report
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
from sklearn.metrics import get_scorer

OUT = compare.HERE / "results" / "threshold"
# rules for the threshold, scored on the same fits: keyword arguments of tune_threshold
RULES = {
    "best cut (no guard)": {"min_gain": None},
    "held-out gain > 0": {"min_gain": 0.0, "noise": 0.0},
    "held-out gain > 1 SE": {"min_gain": 0.0, "noise": 1.0},
    "held-out gain > 2 SE": {"min_gain": 0.0, "noise": 2.0},
    "smoothed (5), no guard": {"min_gain": None, "smooth": 5},
    "smoothed (5), gain > 1 SE": {"min_gain": 0.0, "noise": 1.0, "smooth": 5},
}


class KeepResult:
    """A fit callback that keeps the fit's result (its validation predictions)."""

    result = None

    def on_start(self, plan, data) -> None:
        pass

    def on_trial(self, trial) -> None:
        pass

    def on_end(self, result) -> None:
        self.result = result


def imbalanced_tasks(corpus: Path, n: int, max_rows: int) -> list[compare.Task]:
    """The first ``n`` KEEL imbalanced binary tasks (one per group) by name."""
    manifest = {m["name"]: m for m in json.loads((corpus / "manifest.json").read_text())}
    chosen, groups = [], set()
    for task in sorted(compare.read_manifest(corpus), key=lambda t: t.name):
        m = manifest[task.name]
        if (task.type == "binary" and "keel:imbalanced" in (m.get("source") or "")
                and (m.get("minority_class_share") or 1) < 0.2 and task.n_rows <= max_rows
                and task.group not in groups):
            chosen.append(task)
            groups.add(task.group)
    return chosen[:n]


def save_arrays(path: Path, result, y_test: np.ndarray, proba: np.ndarray) -> None:
    """The validation labels and blended probability of class 1, the test labels and
    probability of class 1, and the fit's seed."""
    from autometa.ensemble import blend

    data = result.data
    val = blend(result.ensemble.weights, result.state.predictions)[:, 1]
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, y_val=data.y[data.val_index], val=val, y_test=y_test,
                        test=proba[:, 1], seed=result.seed)


def run_one(task: compare.Task, corpus: list[compare.Task], metric: str, seed: int,
            budget: float, n_jobs: int, arrays: Path) -> dict:
    from autometa import AutoMetaClassifier

    X, y, X_test, y_test, portfolio = compare.held_out(task, corpus, seed)
    kept = KeepResult()
    start = time.monotonic()
    model = AutoMetaClassifier(time_budget=budget, metric=metric, n_jobs=n_jobs,
                               random_state=seed, portfolio=portfolio,
                               callbacks=[kept]).fit(X, y)
    fit_s = time.monotonic() - start
    score = get_scorer(metric)._score_func
    tuned = model.predict(X_test)
    proba = model.predict_proba(X_test)
    plain = model.classes_[np.argmax(proba, axis=1)]
    save_arrays(arrays / f"{task.name}-{metric}-{seed}.npz", kept.result, y_test, proba)
    return {"task": task.name, "metric": metric, "seed": seed, "threshold": model.threshold_,
            "tuned": float(score(y_test, tuned)), "half": float(score(y_test, plain)),
            "fit_s": fit_s, "n_test": len(y_test)}


def run(args: argparse.Namespace) -> None:
    corpus = compare.read_manifest(args.corpus)
    tasks = imbalanced_tasks(args.corpus, args.tasks, args.max_rows)
    args.out.mkdir(parents=True, exist_ok=True)
    provenance.record(args.out / "run.json", "run")
    path = args.out / "results.jsonl"
    done = {(r["task"], r["metric"], r["seed"]) for r in compare.read_rows(path)}
    for task in tasks:
        for metric in args.metrics:
            for seed in args.seeds:
                if (task.name, metric, seed) in done:
                    continue
                row = run_one(task, corpus, metric, seed, args.budget, args.n_jobs,
                              args.out / "arrays")
                with path.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(f"{task.name} {metric} s{seed}: threshold {row['threshold']:.3f}, "
                      f"tuned {row['tuned']:.4f} vs 0.5 {row['half']:.4f}", flush=True)


def report(args: argparse.Namespace) -> None:
    rows = pd.DataFrame(compare.read_rows(args.out / "results.jsonl"))
    lines = ["| metric | runs | tasks | tuned: mean | 0.5: mean | better / worse / same "
             "| threshold moved |", "|---" * 7 + "|"]
    for metric, part in rows.groupby("metric"):
        diff = part["tuned"] - part["half"]
        moved = (part["threshold"] != 0.5).sum()
        lines.append(f"| {metric} | {len(part)} | {part['task'].nunique()} | "
                     f"{part['tuned'].mean():.4f} | {part['half'].mean():.4f} | "
                     f"{(diff > 1e-12).sum()}-{(diff < -1e-12).sum()}-"
                     f"{(diff.abs() <= 1e-12).sum()} | {moved} |")
    lines += ["", *rule_table(rows, args.out / "arrays")]
    (args.out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def rule_scores(rows: pd.DataFrame, arrays: Path) -> pd.DataFrame:
    """Per fit and rule (``RULES``): the threshold chosen on the validation blend, and
    the test score with it and with 0.5."""
    from autometa.metrics import resolve_metric
    from autometa.threshold import tune_threshold

    out = []
    for r in rows.itertuples():
        path = arrays / f"{r.task}-{r.metric}-{r.seed}.npz"
        if not path.exists():
            continue
        a = np.load(path)
        metric = resolve_metric(r.metric, "classification", 2)
        score = get_scorer(r.metric)._score_func
        half = float(score(a["y_test"], (a["test"] >= 0.5).astype(int)))
        for rule, kwargs in RULES.items():
            cut = tune_threshold(a["y_val"], a["val"], metric, int(a["seed"]), **kwargs)
            out.append({"task": r.task, "metric": r.metric, "seed": r.seed, "rule": rule,
                        "threshold": cut, "half": half,
                        "tuned": float(score(a["y_test"], (a["test"] >= cut).astype(int)))})
    return pd.DataFrame(out)


def rule_table(rows: pd.DataFrame, arrays: Path) -> list[str]:
    """The rules compared on the same fits: moves, test score, wins against 0.5."""
    scores = rule_scores(rows, arrays)
    if scores.empty:
        return []
    lines = ["| rule | metric | fits | moved | tuned: mean | 0.5: mean | better / worse / same |",
             "|---" * 7 + "|"]
    for (rule, metric), part in scores.groupby(["rule", "metric"], sort=False):
        diff = part["tuned"] - part["half"]
        lines.append(f"| {rule} | {metric} | {len(part)} | {(part['threshold'] != 0.5).sum()} | "
                     f"{part['tuned'].mean():.4f} | {part['half'].mean():.4f} | "
                     f"{(diff > 1e-12).sum()}-{(diff < -1e-12).sum()}-"
                     f"{(diff.abs() <= 1e-12).sum()} |")
    moved = scores[scores["threshold"] != 0.5]
    lines += ["", "Fits where a rule moved the threshold (test score tuned vs 0.5):", ""]
    lines += [f"- {r.rule}, {r.task} {r.metric} s{r.seed}: {r.threshold:.3f}, "
              f"{r.tuned:.4f} vs {r.half:.4f}" for r in moved.itertuples()]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--corpus", type=Path, default=compare.ROOT.parent / "shared" / "datasets")
    r.add_argument("--tasks", type=int, default=10)
    r.add_argument("--max-rows", type=int, default=5000)
    r.add_argument("--metrics", nargs="+", default=["balanced_accuracy", "f1"])
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    r.add_argument("--budget", type=float, default=30)
    r.add_argument("--n-jobs", type=int, default=2)
    r.add_argument("--out", type=Path, default=OUT)
    p = sub.add_parser("report")
    p.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    run(args) if args.command == "run" else report(args)


if __name__ == "__main__":
    main()
