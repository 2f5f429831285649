"""Target transformation in the regression search against none, on skewed positive targets.

The corpus's regression tasks whose target is positive (minimum > 0) with skewness > 1
(a seeded choice of ``--tasks`` of them when there are more) are fitted on the 75/25
training split of ``compare.py`` twice per seed: ``AutoMetaRegressor(target_transform=
"auto")`` (the search chooses none / log1p / Yeo-Johnson) and ``target_transform="none"``
(the raw target only), each from the shipped portfolio without the task's group. Test
RMSE is recorded with the target transformations of the final ensemble's members and
their weights. Rows are appended to ``OUT/results.jsonl`` as they come; a re-run skips
what is done. ``--stop-at HH:MM`` (UTC) starts no fit that could end after that time.

Usage::

    python benchmarks/target_transform.py list
    python benchmarks/target_transform.py --tasks 10 run --seeds 0 1 --budget 30 --n-jobs 1
    python benchmarks/target_transform.py report
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import compare
import numpy as np
import pandas as pd
import provenance
from scipy.stats import skew

OUT = compare.HERE / "results" / "target_transform"
MIN_SKEW = 1.0
ARMS = ("auto", "none")
FIT_MARGIN = 1.6  # a fit may take this multiple of its budget, loading and scoring included


def skewed_tasks(corpus: Path) -> list[tuple[compare.Task, float]]:
    """Regression tasks with a positive target of skewness above :data:`MIN_SKEW`, with it."""
    chosen = []
    for task in compare.read_manifest(corpus):
        if task.type != "regression":
            continue
        y = pd.read_parquet(task.path, columns=[task.target])[task.target].astype(float)
        if y.min() > 0 and skew(y) > MIN_SKEW:
            chosen.append((task, float(skew(y))))
    return chosen


def choose(tasks: list[tuple[compare.Task, float]], n: int, seed: int = 0
           ) -> list[tuple[compare.Task, float]]:
    """A seeded choice of ``n`` of them (all when there are at most ``n``), by name."""
    if len(tasks) <= n:
        return tasks
    picks = np.random.default_rng(seed).choice(len(tasks), n, replace=False)
    return sorted((tasks[i] for i in picks), key=lambda ts: ts[0].name)


def members(model) -> list[dict]:
    """The final ensemble's members: trial, family, target transformation and weight."""
    from autometa.space import target_transform

    configs = {t.id: t.config for t in model.trials_}
    return [{"trial": m.trial, "family": configs[m.trial]["model"],
             "transform": target_transform(configs[m.trial]), "weight": float(m.weight)}
            for m in model.ensemble_.members]


def run_one(task: compare.Task, corpus: list[compare.Task], arm: str, seed: int,
            budget: float, n_jobs: int) -> dict:
    """One fit of ``arm`` on the task's training split, scored on its test split."""
    from autometa import AutoMetaRegressor
    from autometa.space import target_transform

    X, y, X_test, y_test, portfolio = compare.held_out(task, corpus, seed)
    y = y.astype(float)
    start = time.monotonic()
    model = AutoMetaRegressor(time_budget=budget, n_jobs=n_jobs, random_state=seed,
                              portfolio=portfolio, target_transform=arm).fit(X, y)
    fit_s = time.monotonic() - start
    pred = model.predict(X_test)
    rmse = float(np.sqrt(np.mean((np.asarray(y_test, dtype=float) - pred) ** 2)))
    return {"task": task.name, "arm": arm, "seed": seed, "rmse": rmse, "fit_s": fit_s,
            "n_trials": len(model.trials_), "members": members(model),
            "best_transform": target_transform(model.best_config_),
            "n_train": len(y), "n_test": len(y_test)}


def time_left(stop_at: str | None, budget: float) -> bool:
    """Whether a fit started now ends before ``stop_at`` (``HH:MM`` UTC; None: always)."""
    if stop_at is None:
        return True
    now = dt.datetime.now(dt.timezone.utc)
    hour, minute = map(int, stop_at.split(":"))
    stop = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return now + dt.timedelta(seconds=FIT_MARGIN * budget + 15) <= stop


def run(args: argparse.Namespace) -> None:
    corpus = compare.read_manifest(args.corpus)
    tasks = choose(skewed_tasks(args.corpus), args.tasks, args.select_seed)
    args.out.mkdir(parents=True, exist_ok=True)
    provenance.record(args.out / "run.json", "run")
    path = args.out / "results.jsonl"
    done = {(r["task"], r["arm"], r["seed"]) for r in compare.read_rows(path)}
    for seed in args.seeds:
        for i, (task, _) in enumerate(tasks):
            arms = ARMS if i % 2 == 0 else ARMS[::-1]  # neither arm always runs first
            for arm in arms:
                if (task.name, arm, seed) in done:
                    continue
                if not time_left(args.stop_at, args.budget):
                    print(f"stopping: no time for another fit before {args.stop_at} UTC")
                    return
                row = run_one(task, corpus, arm, seed, args.budget, args.n_jobs)
                with path.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(f"{task.name} s{seed} {arm}: rmse {row['rmse']:.5g} "
                      f"({row['fit_s']:.1f} s, best {row['best_transform']})", flush=True)


def list_tasks(args: argparse.Namespace) -> None:
    found = skewed_tasks(args.corpus)
    picked = {t.name for t, _ in choose(found, args.tasks, args.select_seed)}
    for task, s in sorted(found, key=lambda ts: ts[0].name):
        print(f"{'*' if task.name in picked else ' '} {task.name:28s} rows {task.n_rows:6d} "
              f"skewness {s:6.2f}")
    print(f"{len(found)} tasks; * = the {len(picked)} chosen")


def paired(rows: pd.DataFrame) -> pd.DataFrame:
    """Test RMSE of both arms per task and seed, with the relative change of ``auto``."""
    table = rows.pivot_table(index=["task", "seed"], columns="arm", values="rmse").dropna()
    table["change"] = table["auto"] / table["none"] - 1
    return table.reset_index()


def transform_shares(rows: pd.DataFrame) -> dict[str, dict[str, float]]:
    """How often each transformation is in the ``auto`` arm's final ensembles: share of
    the ensemble weight (normalised over the members kept after the refit), and fits with
    a member of it; plus the best single trial's."""
    auto = rows[rows["arm"] == "auto"]
    weight: dict[str, float] = {}
    fits: dict[str, int] = {}
    for ms in auto["members"]:
        for name in {m["transform"] for m in ms}:
            fits[name] = fits.get(name, 0) + 1
        total = sum(m["weight"] for m in ms)
        for m in ms:
            share = m["weight"] / total / len(auto)
            weight[m["transform"]] = weight.get(m["transform"], 0.0) + share
    best = auto["best_transform"].value_counts().to_dict()
    return {"weight": weight, "fits_with": fits, "best": best}


def report(args: argparse.Namespace) -> None:
    rows = pd.DataFrame(compare.read_rows(args.out / "results.jsonl"))
    table = paired(rows)
    lines = ["| task | seed | RMSE auto | RMSE none | change |", "|---" * 5 + "|"]
    for r in table.itertuples():
        lines.append(f"| {r.task} | {r.seed} | {r.auto:.5g} | {r.none:.5g} | "
                     f"{100 * r.change:+.1f} % |")
    change = table["change"]
    lines += ["", f"{len(table)} pairs on {table['task'].nunique()} tasks: mean relative "
              f"change of test RMSE {100 * change.mean():+.2f} % (median "
              f"{100 * change.median():+.2f} %); auto better / worse / same: "
              f"{(change < -1e-12).sum()}-{(change > 1e-12).sum()}-"
              f"{(change.abs() <= 1e-12).sum()}"]
    shares = transform_shares(rows)
    lines.append("ensemble weight by transformation (mean over auto fits): " + ", ".join(
        f"{k} {v:.2f}" for k, v in sorted(shares["weight"].items())))
    lines.append("auto fits with a member of each: " + ", ".join(
        f"{k} {v}" for k, v in sorted(shares["fits_with"].items())))
    lines.append("best single trial's transformation: " + ", ".join(
        f"{k} {v}" for k, v in sorted(shares["best"].items())))
    (args.out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=compare.ROOT.parent / "shared" / "datasets")
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--select-seed", type=int, default=0)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list")
    r = sub.add_parser("run")
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    r.add_argument("--budget", type=float, default=30)
    r.add_argument("--n-jobs", type=int, default=1)
    r.add_argument("--stop-at", default=None, help="HH:MM UTC: start no fit ending later")
    r.add_argument("--out", type=Path, default=OUT)
    p = sub.add_parser("report")
    p.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    {"list": list_tasks, "run": run, "report": report}[args.command](args)


if __name__ == "__main__":
    main()
