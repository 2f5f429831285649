"""Do proxy subsets rank configurations as the full data does? Boundary vs random rows.

For each corpus task of at least ``MIN_ROWS`` rows (subsampled to ``MAX_ROWS``, one 80/20
holdout split), the same ``N_CONFIGS`` configurations — a seeded random sample of the
search space — are evaluated on all training rows and on a subset of ``1 / SHRINK`` of
them, taken as the first rows of the ``"boundary"`` and of the ``"random"`` ordering of
:mod:`autometa.fidelity` (the subsets lower fidelities train on). Both subsets are
validated on the same rows as the full data. Per task and ordering, the Spearman rank
correlation between the subset's and the full data's losses, over the configurations that
succeeded in all three, says how faithfully the subset ranks them.

Results go to ``results.jsonl`` one evaluation per line, so a run can be stopped and
resumed (evaluations already there are skipped). ``--report`` prints the per-task table
and the summary.

Usage::

    python benchmarks/proxy_subsets.py --corpus ../shared/datasets --tasks 20
    python benchmarks/proxy_subsets.py --report
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import provenance
from scipy.stats import spearmanr, wilcoxon

from autometa.evaluation import Evaluation, TaskData
from autometa.fidelity import ORDERINGS, row_floor, split_orders
from autometa.metalearning.build import space_for
from autometa.metalearning.corpus import load_corpus, subsample
from autometa.pool import LocalPool, run_jobs
from autometa.sandbox import Job
from autometa.space import to_dict
from autometa.table import Table

MIN_ROWS = 5_000
MAX_ROWS = 5_000
N_CONFIGS = 50
SHRINK = 9  # the subset: a ninth of the training rows (two rungs down at eta = 3)
TIME_LIMIT = 20.0  # seconds per evaluation
SEED = 0
OUT = Path(__file__).resolve().parent / "results" / "proxy_subsets"


def tasks(corpus: Path, n: int) -> list:
    """The ``n`` smallest corpus tasks of at least ``MIN_ROWS`` rows (cheapest first)."""
    manifest = {m["name"]: m for m in json.loads((corpus / "manifest.json").read_text())}
    large = [t for t in load_corpus(corpus) if manifest[t.name]["n_rows"] >= MIN_ROWS]
    return sorted(large, key=lambda t: manifest[t.name]["n_rows"])[:n]


def task_data(ct) -> TaskData:
    """The task subsampled to ``MAX_ROWS`` rows, one holdout split, default metric."""
    X, y = ct.load()
    X, y = subsample(X, y, ct.task, MAX_ROWS, SEED)
    table = Table.from_raw(X, y.to_numpy(), ct.task, "corpus")
    return TaskData.from_table(table, resampling="holdout", seed=SEED)


def configurations(task: str) -> list[dict]:
    """The same seeded random sample of the search space for every task of a type."""
    space = space_for(task)
    space.seed(SEED)
    return [to_dict(c) for c in space.sample_configuration(N_CONFIGS)]


def done_keys(path: Path) -> set[tuple]:
    """Evaluations already in ``path``; timeouts are tried again (on a busy machine they
    say more about the machine than about the configuration)."""
    if not path.exists():
        return set()
    return {(r["task"], r["config"], r["subset"]) for r in map(json.loads, path.open())
            if r["status"] != "timeout"}


def run(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    provenance.record(out / "run.json", "run")
    path = out / "results.jsonl"
    done = done_keys(path)
    pool = LocalPool(args.n_jobs)
    pool.start()
    try:
        for ct in tasks(Path(args.corpus), args.tasks):
            run_task(ct, pool, path, done)
    finally:
        pool.close()


def run_task(ct, pool: LocalPool, path: Path, done: set) -> None:
    """Every missing evaluation of one task, appended to ``path`` as it finishes."""
    data = task_data(ct)
    train = data.splits[0][0]
    rows = max(len(train) // SHRINK, row_floor(data.y[train], data.task))
    orders = {kind: split_orders(data.X, data.y, data.task, data.splits, kind, SEED)[0]
              for kind in ORDERINGS}
    subsets = {"full": None, **{kind: orders[kind][:rows] for kind in ORDERINGS}}
    configs = configurations(ct.task)
    todo = [(i, name) for i in range(len(configs)) for name in subsets
            if (ct.name, i, name) not in done]
    if not todo:
        return
    print(f"{ct.name}: {len(todo)} evaluations, subset of {rows} / {len(train)} rows",
          flush=True)
    with path.open("a") as log:
        for name in subsets:  # one ordering at a time: the data carries its subset
            keys = [i for i, n in todo if n == name]
            if not keys:
                continue
            pool.set_data(data if subsets[name] is None else
                          replace(data, orders=(subsets[name],)))
            limit = None if subsets[name] is None else rows
            jobs = (Job(i, Evaluation(configs[i], SEED, rows=limit), float("inf"), TIME_LIMIT)
                    for i in keys)
            for result in run_jobs(pool, jobs):
                loss = result.value.loss if result.ok else None
                log.write(json.dumps({"task": ct.name, "kind": ct.task, "config": result.job.key,
                                      "subset": name, "rows": limit or len(train),
                                      "loss": loss, "status": result.status,
                                      "seconds": result.wall_time}) + "\n")
                log.flush()


def correlations(frame: pd.DataFrame) -> pd.DataFrame:
    """Per task: Spearman correlation of each subset's losses with the full data's."""
    rows = []
    for task, group in frame.groupby("task"):
        wide = group.pivot_table(index="config", columns="subset", values="loss",
                                 aggfunc="min")  # a timeout retried: its one loss
        wide = wide.dropna()
        if "full" not in wide or len(wide) < 10:
            continue
        row = {"task": task, "configs": len(wide)}
        for kind in ORDERINGS:
            if kind in wide:
                row[kind] = spearmanr(wide["full"], wide[kind]).statistic
        rows.append(row)
    return pd.DataFrame(rows)


def report(args) -> None:
    path = Path(args.out) / "results.jsonl"
    frame = pd.DataFrame(map(json.loads, path.open()))
    table = correlations(frame).dropna()
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if table.empty:
        return
    diff = table["boundary"] - table["random"]
    print(f"\ntasks: {len(table)}; Spearman rho, median (mean): "
          f"boundary {table['boundary'].median():.3f} ({table['boundary'].mean():.3f}), "
          f"random {table['random'].median():.3f} ({table['random'].mean():.3f})")
    print(f"boundary - random: median {diff.median():+.3f}, mean {diff.mean():+.3f}; "
          f"boundary higher on {(diff > 0).sum()} of {len(diff)} tasks")
    if len(diff) >= 6 and (diff != 0).any():
        print(f"Wilcoxon signed-rank p = {wilcoxon(diff).pvalue:.3g}")
    seconds = frame.groupby("subset")["seconds"].sum()
    print("evaluation seconds by subset: " + ", ".join(f"{k} {v:.0f}" for k, v in
                                                      seconds.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default="../shared/datasets")
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--report", action="store_true", help="print the summary only")
    args = parser.parse_args()
    (report if args.report else run)(args)


if __name__ == "__main__":
    main()
