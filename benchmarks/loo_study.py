"""Does meta-learning help? A leave-one-group-out study over the corpus.

For every corpus task T, a portfolio built *without T's group* (and without the
candidates T's own search found) chooses the first configurations, and the best
validation loss after k = 1..25 evaluations is compared for:

* ``knn``    — the warm start ``fit`` uses (``meta_learning="auto"``) on data of at most
  the portfolio's 1,500 rows: each pick sees the task's losses on the earlier ones,
* ``knn-static`` — the same picks made without seeing any loss,
* ``knn+lgbm`` — the same with the default LightGBM second, as ``fit`` does on more rows,
* ``greedy`` — the greedy portfolio alone (``meta_learning="greedy"``),
* ``random`` — configurations sampled uniformly from the search space,
* ``smac``   — SMAC from a cold start (``meta_learning="off"``: random initial design + BO).

All at the meta-dataset's fidelity (subsampled rows, 3-fold CV, default metric). The
portfolio strategies are read off the performance matrix; ``random`` and ``smac`` are
run here and appended to ``baselines.jsonl.gz`` (resumable: a re-run continues).
Per task, losses are normalised to [0, 1] by the best and worst loss seen on it by any
method; the report gives the median (and mean) normalised regret per k.

Usage::

    python benchmarks/loo_study.py run --corpus ../shared/datasets --n-jobs 2
    python benchmarks/loo_study.py recheck --corpus ../shared/datasets --n-jobs 2
    python benchmarks/loo_study.py report

``recheck`` asks how much of "the best loss after k evaluations" is luck: the best-so-far
configuration of knn@5, greedy@5 and random@25 is evaluated again on fresh folds (another
subsample, split and model seed), appended to ``recheck.jsonl.gz``.

Each step records its command, date, git commit and machine in ``run.json`` (one key per
step). ``regret.csv``, the report's long table, is not kept in git.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import provenance

from autometa import portfolio as pf
from autometa.components import registry
from autometa.initial_design import InitialDesign, baseline
from autometa.metalearning.build import Fidelity, evaluate_all, space_for, task_data
from autometa.metalearning.corpus import load_corpus
from autometa.plan import N_RANDOM_INITIAL  # what fit uses with meta_learning="off"
from autometa.pool import LocalPool
from autometa.records import config_key
from autometa.search import SearchSettings, run_search
from autometa.space import to_dict

K = 25
FRESH_SEED = 1

HERE = Path(__file__).parent
OUT = HERE / "results" / "loo"
METHODS = ("knn", "knn-static", "knn+lgbm", "greedy", "random", "smac")
BASELINES, RECHECK = "baselines.jsonl.gz", "recheck.jsonl.gz"


def read_jsonl(path: Path) -> list[dict]:
    """The records of a gzipped JSON-lines file (none when it does not exist)."""
    if not path.is_file():
        return []
    records = []
    try:
        with gzip.open(path, "rt") as f:
            for line in f:
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line cut by an interruption
    except EOFError:  # the last member cut by an interruption
        pass
    return records


def append_jsonl(path: Path, records: list[dict]) -> None:
    """Append records to a gzipped JSON-lines file, as one gzip member in one write."""
    text = "".join(json.dumps(r) + "\n" for r in records)
    with path.open("ab") as f:
        f.write(gzip.compress(text.encode(), mtime=0))


# -- run: the baselines that need real evaluations ---------------------------------------------


def run_random(ct, pool: LocalPool, fidelity: Fidelity, seed: int) -> list[float | None]:
    configs = dict(enumerate(random_configs(ct.task, seed)))
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
    path = out / BASELINES
    done = {(r["task"], r["method"]) for r in read_jsonl(path)}
    provenance.record(out / "run.json", "run")
    fidelity = build_fidelity()
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


def build_fidelity() -> Fidelity:
    """The fidelity the shipped portfolio was built at."""
    return Fidelity(**json.loads((Path("portfolios") / "metadata" / "fidelity.json")
                                 .read_text()))


def random_configs(task: str, seed: int) -> list[dict]:
    """The configurations ``run_random`` samples on the task of corpus index ``seed``."""
    space = space_for(task)
    space.seed(seed)
    return [to_dict(c) for c in space.sample_configuration(K)]


def best_so_far(configs: list[dict], losses: list, k: int) -> dict | None:
    """The configuration with the lowest loss among the first ``k`` (None if all failed)."""
    scored = [(v, i) for i, v in enumerate(losses[:k]) if v is not None and np.isfinite(v)]
    return configs[min(scored)[1]] if scored else None


def recheck(corpus: str, out: Path, n_jobs: int) -> None:
    """Evaluate each method's best-so-far configuration again at seed 0 (the study's
    folds: should reproduce its loss) and at :data:`FRESH_SEED` (fresh folds)."""
    path = out / RECHECK
    done = {r["task"] for r in read_jsonl(path)}
    provenance.record(out / "run.json", "recheck")
    baselines = {r["task"]: r["losses"] for r in read_jsonl(out / BASELINES)
                 if r["method"] == "random"}
    base = build_fidelity()
    tasks = load_corpus(corpus)
    fulls = {t: pf.load(t) for t in ("classification", "regression")}
    indexes = {t: _index(full) for t, full in fulls.items()}
    pool = LocalPool(n_jobs)
    pool.start()
    try:
        for j, ct in enumerate(tasks):
            if ct.name in done or ct.name not in baselines:
                continue
            full = fulls[ct.task]
            t = full.tasks.index(ct.name)
            index = indexes[ct.task]
            chosen = {m: best_so_far([p.config for p in ps],
                                     [full.losses[t, index[config_key(p.config)]] for p in ps], 5)
                      for m, ps in _picks(full, t).items() if m in ("knn", "greedy")}
            chosen["random"] = best_so_far(random_configs(ct.task, j), baselines[ct.name], K)
            record = {"task": ct.name}
            for seed in (base.seed, FRESH_SEED):
                fidelity = replace(base, seed=seed)
                pool.set_data(task_data(ct, fidelity))
                todo = {m: c for m, c in chosen.items() if c is not None}
                results = {r.job.key: (r.value.loss if r.ok else None)
                           for r in evaluate_all(pool, todo, fidelity)}
                record[f"seed{seed}"] = {m: results.get(m) for m in chosen}
            append_jsonl(path, [record])
            print(f"{ct.name}: {record}", flush=True)
    finally:
        pool.close()


def _index(full: pf.Portfolio) -> dict[str, int]:
    return {config_key(c): i for i, c in enumerate(full.configs)}


def _picks(full: pf.Portfolio, t: int) -> dict[str, list]:
    """What each portfolio strategy picks for task ``t`` without its group, seeing the
    task's losses (its row of the matrix) one pick at a time, as ``fit`` does."""
    loo = full.without([full.groups[t]])
    meta = dict(zip(full.metafeature_names, full.metafeatures[t], strict=True))
    index = _index(full)

    def loss(config: dict) -> float:
        value = full.losses[t, index[config_key(config)]]
        return value if np.isfinite(value) else np.inf  # a failed trial

    def run(warm: InitialDesign) -> list:
        tried: list = []
        while (config := warm(tried)) is not None:
            tried.append((config, loss(config)))
        return warm.picks

    return {"knn": run(InitialDesign(loo, "auto", meta, K)),
            "knn-static": InitialDesign(loo, "auto", meta, K).planned(),
            "knn+lgbm": run(InitialDesign(loo, "auto", meta, K,
                                      baseline=baseline(list(registry()), full.task))),
            "greedy": run(InitialDesign(loo, "greedy", None, K))}


# -- report ------------------------------------------------------------------------------------


def portfolio_curves(full: pf.Portfolio, t: int) -> dict[str, list[float]]:
    """Losses on task ``t`` of the configurations each strategy picks without its group."""
    index = _index(full)
    picks = _picks(full, t)
    return {method: [full.losses[t, index[config_key(p.config)]] for p in chosen]
            for method, chosen in picks.items()}


def regret_table(out: Path) -> pd.DataFrame:
    """One row per (task, method, k): the normalised regret of the best loss so far."""
    baselines: dict[str, dict[str, list]] = {}
    for r in read_jsonl(out / BASELINES):
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
                                                         and not np.isfinite(losses[k - 1])),
                         "low": low, "high": high})
    return rows


def _recheck(out: Path, table: pd.DataFrame) -> list[str]:
    """The recheck's lines of the report: best-so-far configurations on the study's folds
    and on fresh folds, on the study's per-task scale."""
    records = read_jsonl(out / RECHECK)
    bounds = table.groupby("task")[["low", "high"]].first()
    rows = []
    for r in (r for r in records if r["task"] in bounds.index):
        low, high = bounds.loc[r["task"]]
        for folds, seed in (("study", "seed0"), ("fresh", f"seed{FRESH_SEED}")):
            for method, loss in r[seed].items():
                rows.append({"task": r["task"], "folds": folds, "method": method,
                             "regret": 1.0 if loss is None else (loss - low) / (high - low)})
    if not rows:
        return []
    frame = pd.DataFrame(rows)
    frame["method"] = frame["method"].map({"knn": "knn@5", "greedy": "greedy@5",
                                           "random": f"random@{K}"})
    median = frame.pivot_table(index="folds", columns="method", values="regret",
                               aggfunc="median")
    wide = frame.pivot_table(index=["folds", "task"], columns="method", values="regret")
    share = (wide["knn@5"] <= wide[f"random@{K}"]).groupby(level="folds").mean()
    return ["", f"Recheck on {frame['task'].nunique()} tasks: each method's best-so-far "
            "configuration evaluated again on the study's folds (should match the table) "
            "and on fresh folds (another subsample, split and model seed). Median "
            "normalised regret on the study's per-task scale:", "",
            median.round(4).to_string(), "",
            f"Share of tasks where knn@5's configuration is at least as good as "
            f"random@{K}'s: " + ", ".join(f"{k} folds {v:.0%}" for k, v in share.items())]


def report(out: Path) -> None:
    table = regret_table(out)
    if table.empty:
        raise SystemExit("No task has both the matrix row and the baselines yet.")
    summary = table.pivot_table(index="k", columns="method", values="regret", aggfunc="median")
    summary = summary[[m for m in METHODS if m in summary]]
    means = table.pivot_table(index="k", columns="method", values="regret", aggfunc="mean")
    means = means[summary.columns]  # one column order: the plot's colours follow it
    n_tasks = table["task"].nunique()
    per_type = table.groupby("type")["task"].nunique().items()
    text = [f"Leave-one-group-out over {n_tasks} tasks "
            f"({', '.join(f'{k}: {v}' for k, v in per_type)})",
            "", "Median normalised regret of the best loss after k evaluations:", "",
            summary.round(4).to_string(), "", "Mean normalised regret:", "",
            means.round(4).to_string(), "",
            "Failed evaluations (share of the first 25):", "",
            table.groupby("method")["failed"].mean()[summary.columns].round(4).to_string(), "",
            _acceptance(summary, table), *_recheck(out, table)]
    (out / "summary.md").write_text("\n".join(text) + "\n")
    table.to_csv(out / "regret.csv", index=False)
    provenance.record(out / "run.json", "report")
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
    c = sub.add_parser("recheck", help="evaluate each method's best-so-far again on fresh "
                       "folds (resumable)")
    c.add_argument("--corpus", default="../shared/datasets")
    c.add_argument("--n-jobs", type=int, default=2)
    c.add_argument("--out", type=Path, default=OUT)
    p = sub.add_parser("report", help="write summary.md, regret.csv and regret.png")
    p.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if args.command == "run":
        run(args.corpus, args.out, args.n_jobs, args.limit)
    elif args.command == "recheck":
        recheck(args.corpus, args.out, args.n_jobs)
    else:
        report(args.out)


if __name__ == "__main__":
    main()
