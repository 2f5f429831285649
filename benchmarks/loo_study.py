"""Does meta-learning help? A leave-one-group-out study over the corpus.

For every corpus task T, a portfolio built *without T's group* (and without the
candidates T's own search found) chooses the first configurations, and the best
validation loss after k = 1..25 evaluations is compared for:

* ``knn``    — the warm start ``fit`` uses (``meta_learning="auto"``),
* ``greedy`` — the greedy portfolio alone (``meta_learning="greedy"``),
* ``random`` — configurations sampled uniformly from the search space,
* ``smac``   — SMAC from a cold start (``meta_learning="off"``: random initial design + BO).

All at the meta-dataset's fidelity (subsampled rows, 3-fold CV, default metric). The
portfolio strategies are read off the performance matrix; ``random`` and ``smac`` are
run here and appended to ``baselines.jsonl`` (resumable: a re-run continues).
Per task, losses are normalised to [0, 1] by the best and worst loss seen on it by any
method; the report gives the median (and mean) normalised regret per k.

Usage::

    python benchmarks/loo_study.py run --corpus ../shared/datasets --n-jobs 2
    python benchmarks/loo_study.py report
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from autometa import portfolio as pf
from autometa.metalearning.build import (
    Fidelity,
    append_jsonl,
    evaluate_all,
    read_jsonl,
    space_for,
    task_data,
)
from autometa.metalearning.corpus import load_corpus
from autometa.pool import LocalPool
from autometa.search import SearchSettings, run_search
from autometa.space import to_dict

K = 25
N_RANDOM_INITIAL = 10  # what fit uses with meta_learning="off"
HERE = Path(__file__).parent
OUT = HERE / "results" / "loo"
METHODS = ("knn", "greedy", "random", "smac")


# -- run: the baselines that need real evaluations ---------------------------------------------


def run_random(ct, pool: LocalPool, fidelity: Fidelity, seed: int) -> list[float | None]:
    space = space_for(ct.task)
    space.seed(seed)
    configs = {i: to_dict(c) for i, c in enumerate(space.sample_configuration(K))}
    losses: dict[int, float | None] = {}
    for result in evaluate_all(pool, configs, fidelity):
        losses[result.job.key] = result.value.loss if result.ok else None
    return [losses[i] for i in range(K)]


def run_smac(ct, pool: LocalPool, fidelity: Fidelity, seed: int) -> list[float | None]:
    settings = SearchSettings(
        seed=seed, deadline=time.monotonic() + 3 * K * fidelity.trial_time_limit,
        trial_time_limit=fidelity.trial_time_limit, max_evals=K,
        n_random_initial=N_RANDOM_INITIAL,
    )
    state = run_search(space_for(ct.task), pool, settings)
    return [t.loss for t in state.trials]


def run(corpus: str, out: Path, n_jobs: int, limit: int | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "baselines.jsonl"
    done = {(r["task"], r["method"]) for r in read_jsonl(path)}
    fidelity = Fidelity(**json.loads((Path("portfolios") / "metadata" / "fidelity.json")
                                     .read_text()))
    tasks = load_corpus(corpus)
    order = np.random.default_rng(fidelity.seed).permutation(len(tasks))[:limit]  # as the matrix
    pool = LocalPool(n_jobs)
    pool.start()
    try:
        for n, j in enumerate(order):
            ct = tasks[j]
            for method, runner in (("random", run_random), ("smac", run_smac)):
                if (ct.name, method) in done:
                    continue
                pool.set_data(task_data(ct, fidelity))
                start = time.monotonic()
                losses = runner(ct, pool, fidelity, seed=int(j))
                append_jsonl(path, [{"task": ct.name, "method": method, "losses": losses}])
                print(f"[{n + 1}/{len(order)}] {ct.name} {method}: best "
                      f"{min((v for v in losses if v is not None), default=None)} "
                      f"({time.monotonic() - start:.0f} s)", flush=True)
    finally:
        pool.close()


# -- report ------------------------------------------------------------------------------------


def portfolio_curves(full: pf.Portfolio, t: int) -> dict[str, list[float]]:
    """Losses on task ``t`` of the configurations each strategy picks without its group."""
    loo = full.without([full.groups[t]])
    index = {json.dumps(c, sort_keys=True): i for i, c in enumerate(full.configs)}
    meta = dict(zip(full.metafeature_names, full.metafeatures[t], strict=True))
    curves = {}
    for method, strategy in (("knn", "auto"), ("greedy", "greedy")):
        picks = loo.select(meta, K, strategy)
        curves[method] = [full.losses[t, index[json.dumps(p.config, sort_keys=True)]]
                          for p in picks]
    return curves


def regret_table(out: Path) -> pd.DataFrame:
    """One row per (task, method, k): the normalised regret of the best loss so far."""
    baselines: dict[str, dict[str, list]] = {}
    for r in read_jsonl(out / "baselines.jsonl"):
        baselines.setdefault(r["task"], {})[r["method"]] = r["losses"]
    rows = []
    for task_type in ("classification", "regression"):
        full = pf.load(task_type)
        for t, name in enumerate(full.tasks):
            if set(baselines.get(name, {})) != {"random", "smac"}:
                continue
            curves = {**portfolio_curves(full, t), **baselines[name]}
            rows += _regret_rows(name, task_type, curves, full.losses[t])
    return pd.DataFrame(rows)


def _regret_rows(name: str, task_type: str, curves: dict, matrix_row: np.ndarray) -> list:
    as_array = {m: np.array([np.nan if v is None else v for v in c], dtype=float)
                for m, c in curves.items()}
    seen = np.concatenate([matrix_row, *as_array.values()])
    seen = seen[np.isfinite(seen)]
    low, high = seen.min(), seen.max()
    rows = []
    for method, losses in as_array.items():
        best = np.fmin.accumulate(np.where(np.isfinite(losses), losses, np.inf))
        for k in range(1, K + 1):
            value = best[min(k, len(best)) - 1]
            regret = 1.0 if not np.isfinite(value) else (value - low) / max(high - low, 1e-12)
            rows.append({"task": name, "type": task_type, "method": method, "k": k,
                         "regret": regret, "failed": bool(k <= len(losses)
                                                         and not np.isfinite(losses[k - 1]))})
    return rows


def report(out: Path) -> None:
    table = regret_table(out)
    if table.empty:
        raise SystemExit("No task has both the matrix row and the baselines yet.")
    summary = table.pivot_table(index="k", columns="method", values="regret", aggfunc="median")
    summary = summary[[m for m in METHODS if m in summary]]
    means = table.pivot_table(index="k", columns="method", values="regret", aggfunc="mean")
    n_tasks = table["task"].nunique()
    per_type = table.groupby("type")["task"].nunique().items()
    text = [f"Leave-one-group-out over {n_tasks} tasks "
            f"({', '.join(f'{k}: {v}' for k, v in per_type)})",
            "", "Median normalised regret of the best loss after k evaluations:", "",
            summary.round(4).to_string(), "", "Mean normalised regret:", "",
            means[summary.columns].round(4).to_string(), "",
            "Failed evaluations (share of the first 25):", "",
            table.groupby("method")["failed"].mean()[summary.columns].round(4).to_string(), "",
            _acceptance(summary, table)]
    (out / "summary.md").write_text("\n".join(text) + "\n")
    table.to_csv(out / "regret.csv", index=False)
    _plot(summary, means, n_tasks, out / "regret.png")
    print("\n".join(text))


def _acceptance(median: pd.DataFrame, table: pd.DataFrame) -> str:
    """The claim the study checks: kNN after 5 evaluations vs random after 25, in the
    median over tasks and task by task."""
    knn, random = median.loc[5, "knn"], median.loc[K, "random"]
    verdict = "holds" if knn <= random else "does NOT hold"
    per_task = table.pivot_table(index="task", columns=["method", "k"], values="regret")
    at_least_as_good = (per_task[("knn", 5)] <= per_task[("random", K)]).mean()
    return (f"kNN warm start after 5 evaluations: median regret {knn:.4f}; random "
            f"configurations after {K}: {random:.4f}. The claim knn@5 <= random@{K} {verdict}"
            f" in the median; task by task, knn@5 is at least as good as random@{K} on "
            f"{at_least_as_good:.0%} of the tasks.")


def _plot(median: pd.DataFrame, mean: pd.DataFrame, n_tasks: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True)
    for ax, frame, what in ((axes[0], median, "median"), (axes[1], mean, "mean")):
        for method in frame.columns:
            ax.plot(frame.index, frame[method], marker=".", label=method)
        ax.set_xlabel("evaluations (k)")
        ax.set_ylabel(f"{what} normalised regret")
        ax.set_yscale("symlog", linthresh=0.01)
        ax.grid(alpha=0.3)
    axes[0].legend(title="start")
    fig.suptitle(f"Warm start vs cold start, leave-one-group-out over {n_tasks} corpus tasks")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="evaluate the random and cold-SMAC baselines (resumable)")
    r.add_argument("--corpus", default="../shared/datasets")
    r.add_argument("--n-jobs", type=int, default=2)
    r.add_argument("--limit", type=int, help="only the first N tasks of a seeded random order")
    r.add_argument("--out", type=Path, default=OUT)
    p = sub.add_parser("report", help="write summary.md, regret.csv and regret.png")
    p.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if args.command == "run":
        run(args.corpus, args.out, args.n_jobs, args.limit)
    else:
        report(args.out)


if __name__ == "__main__":
    main()
