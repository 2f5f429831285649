"""What the experience store costs a fit, and what it gives a fit of a related task.

``overhead``: a synthetic store of binary classification fits (meta-features near the
shipped source tasks', 100 trials each, configurations sampled from the search space) is
built once, then the start of a fit's initial design is timed with and without it
(:func:`autometa.initial_design.portfolio_design` — reading the store, choosing the
nearest stored fits, building the augmented portfolio, checking stored configurations
against the search space — and the first pick, and all 16 picks with losses coming in),
and the writing of one fit's record (100 trials) into it::

    python benchmarks/experience.py overhead --tasks 10000 --trials 100 --store /tmp/big.db

``related``: pairs of related corpus tasks (the same group, e.g. KEEL variants of one
base dataset); on each pair, the first task is fitted with an empty store, then the
second is fitted twice from the same seed: with the first in the store and without.
Each fit starts from the shipped portfolio without the pair's group. Reports the
normalised regret after 1, 5 and 10 evaluations (over the trials of both fits of the
second task) and the test ROC AUC at the budget (25 % test split). A re-fit pair is a
task and itself: the first fit sees 5/6 of the training rows, the second all of them::

    python benchmarks/experience.py related --pairs 12 --budget 10 --seeds 0 1
    python benchmarks/experience.py report

Raw results (``results.jsonl``, ``run.json`` and the stores) go to ``--out``
(``/tmp/autometa-experience-related`` by default), out of git.

Timing numbers are medians of repeats (`--repeats`, 5 by default).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autometa.automl import in_space
from autometa.components import registry
from autometa.experience import ExperienceStore
from autometa.experience_use import FitExperience
from autometa.initial_design import portfolio_design
from autometa.portfolio import load
from autometa.space import build_space, select_families, to_dict

TASK = "classification"


# -- overhead -----------------------------------------------------------------------------------


def synthetic_records(n_tasks: int, n_trials: int, seed: int = 0):
    """Binary classification fits whose meta-features are the shipped source tasks' with
    noise and whose trials are configurations sampled from the search space."""
    rng = np.random.default_rng(seed)
    portfolio = load(TASK)
    names = portfolio.metafeature_names
    space = build_space(TASK, select_families(TASK, registry()), seed=seed)
    pool = [to_dict(c) for c in space.sample_configuration(2000)]
    for i in range(n_tasks):
        base = portfolio.metafeatures[rng.integers(len(portfolio.tasks))]
        vector = base * (1 + 0.1 * rng.standard_normal(len(base)))
        vector[names.index("simple.n_classes")] = 2
        losses = -rng.uniform(0.5, 1.0, n_trials)
        trials = [{"trial": t, "family": c["model"], "config": c, "origin": "smac",
                   "status": "ok", "loss": float(loss), "fit_time": 0.5, "predict_time": 0.05,
                   "wall_time": 0.8, "error": ""}
                  for t, (c, loss) in enumerate(zip(
                      (pool[j] for j in rng.integers(len(pool), size=n_trials)), losses,
                      strict=True))]
        yield {"uid": f"synthetic-{i}", "created": time.time(), "tag": f"task{i}",
               "fingerprint": uuid.uuid4().hex, "table_key": uuid.uuid4().hex, "task": TASK,
               "metric": "roc_auc", "n_classes": 2, "n_rows": 1000, "n_columns": 20,
               "fit_rows": 2000, "resampling": "cv:3", "outcome": "ok", "fit_time": 60.0,
               "metafeatures": {n: (None if not np.isfinite(v) else float(v))
                                for n, v in zip(names, vector, strict=True)},
               "versions": {}, "ensemble": [{"trial": 0, "weight": 1.0}], "trials": trials}


def build_store(path: Path, n_tasks: int, n_trials: int) -> ExperienceStore:
    """The synthetic store at ``path`` (built once, in chunks of 500 fits)."""
    store = ExperienceStore(path, timeout=60)
    have = len(store.list()) if path.exists() else 0
    if have >= n_tasks:
        return store
    records = synthetic_records(n_tasks, n_trials)
    chunk: list = []
    for record in records:
        chunk.append(record)
        if len(chunk) == 500:
            store.add_many(chunk)
            chunk = []
    store.add_many(chunk)
    return store


def _design(link, query: dict, space, families):
    return portfolio_design(TASK, "auto", query, 16, families, budget=(12.0, 2000, 2),
                            n_rows=1000, experience=link, valid=in_space(space))


def _picks(design, rng) -> list:
    tried = []
    while (config := design(tried)) is not None:
        tried.append((config, -float(rng.uniform(0.5, 1.0))))
    return tried


def time_start(store: ExperienceStore | None, repeats: int) -> dict:
    """Seconds to build the initial design (and its first pick, and all 16 picks)."""
    portfolio = load(TASK)
    rng = np.random.default_rng(1)
    query = dict(zip(portfolio.metafeature_names,
                     portfolio.metafeatures[3] * (1 + 0.05 * rng.standard_normal(
                         len(portfolio.metafeature_names))), strict=True))
    query["simple.n_classes"] = 2
    families = [f.name for f in select_families(TASK, registry())]
    space = build_space(TASK, select_families(TASK, registry()), seed=0)
    start, first, all_picks = [], [], []
    for r in range(repeats):
        link = None if store is None else FitExperience(store, "new", f"fp{r}", "t", "u")
        t0 = time.perf_counter()
        design = _design(link, query, space, families)
        t1 = time.perf_counter()
        design([])
        t2 = time.perf_counter()
        design.picks.clear()
        _picks(design, rng)
        t3 = time.perf_counter()
        start.append(t1 - t0)
        first.append(t2 - t0)
        all_picks.append(t3 - t2 + t1 - t0)
    return {"design": statistics.median(start), "first_pick": statistics.median(first),
            "all_16_picks": statistics.median(all_picks),
            "experience_picks": sum(p.reason.startswith("experience:") for p in design.picks)}


def time_write(store: ExperienceStore, repeats: int) -> float:
    """Median seconds to add one fit's record of 100 trials."""
    times = []
    for record in synthetic_records(repeats, 100, seed=99):
        record["uid"] = uuid.uuid4().hex
        t0 = time.perf_counter()
        store.add(record)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def overhead(args: argparse.Namespace) -> None:
    from benchmarks.provenance import describe

    t0 = time.perf_counter()
    store = build_store(Path(args.store), args.tasks, args.trials)
    built = time.perf_counter() - t0
    size = Path(args.store).stat().st_size / 2**20
    without = time_start(None, args.repeats)
    with_store = time_start(store, args.repeats)
    empty = ExperienceStore(Path(args.store).with_name("empty-" + Path(args.store).name))
    result = {
        "store": {"tasks": args.tasks, "trials": args.tasks * args.trials, "mb": round(size),
                  "build_seconds": round(built, 1)},
        "without_store": without, "with_store": with_store,
        "read_overhead": {k: with_store[k] - without[k]
                          for k in ("design", "first_pick", "all_16_picks")},
        "write_seconds": {"big_store": time_write(store, args.repeats),
                          "new_store": time_write(empty, args.repeats)},
        "provenance": describe(),
    }
    print(json.dumps(result, indent=1))


# -- related tasks ------------------------------------------------------------------------------


def related_pairs(corpus: str, n_pairs: int, n_samples: int = 0) -> list[tuple]:
    """``n_pairs`` (first, second) pairs of tasks of one group, in turn over the groups
    (the first two tasks of each group, then the next two, ...), as many re-fits (a task
    and itself) as a third of ``n_pairs``, and ``n_samples`` sample pairs (a task and
    itself, see :func:`sample_tasks`)."""
    from autometa.metalearning.corpus import load_corpus

    tasks = load_corpus(corpus)
    groups: dict[str, list] = {}
    for task in tasks:
        groups.setdefault(task.group, []).append(task)
    groups = {g: ts for g, ts in sorted(groups.items()) if len(ts) > 1}
    pairs: list[tuple] = []
    for step in range(max(len(ts) for ts in groups.values())):
        for members in groups.values():
            if len(pairs) < n_pairs and step + 1 < len(members):
                pairs.append(("related", members[step], members[step + 1]))
    refits = [("refit", ts[0], ts[0]) for ts in list(groups.values())[:n_pairs // 3]]
    samples = [("sample", t, t) for t in sample_tasks(corpus, tasks, n_samples)]
    return pairs + refits + samples


def kind_of(entry: dict) -> str:
    """"binary", "multiclass" or "regression" for a manifest entry."""
    if entry["task"] == "regression":
        return "regression"
    return "binary" if entry["n_classes"] == 2 else "multiclass"


def sample_tasks(corpus: str, tasks: list, n: int, rows: tuple = (1000, 20_000)) -> list:
    """``n`` tasks for sample pairs, a third of each kind (binary, multiclass, regression),
    each the only task of its group with ``rows`` rows (a seeded choice): the first fit
    sees one half of the training rows, the second the other half (the same table, other
    rows, as when a table is refitted every month)."""
    manifest = {m["name"]: m for m in json.loads((Path(corpus) / "manifest.json").read_text())}
    sizes: dict[str, int] = {}
    for task in tasks:
        sizes[task.group] = sizes.get(task.group, 0) + 1
    rng = np.random.default_rng(0)
    chosen = []
    for kind in ("binary", "multiclass", "regression"):
        pool = sorted((t for t in tasks if sizes[t.group] == 1
                       and kind_of(manifest[t.name]) == kind
                       and rows[0] <= manifest[t.name]["n_rows"] <= rows[1]),
                      key=lambda t: t.name)
        take = n // 3 + (kind == "binary") * (n % 3)
        chosen += [pool[i] for i in rng.permutation(len(pool))[:take]]
    return chosen


def _split(task, seed: int, part: str = "all"):
    """Train and test rows of a corpus task (25 % test). Of the train rows, ``part``:
    ``"all"``, ``"refit"`` (5/6 of them) or ``"half0"`` / ``"half1"`` (disjoint halves)."""
    from sklearn.model_selection import train_test_split

    X, y = task.load()
    stratify = task.task == "classification"
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed,
                                              stratify=y if stratify else None)
    if part != "all":
        share = 5 / 6 if part == "refit" else 0.5
        halves = train_test_split(X_tr, y_tr, train_size=share, random_state=seed,
                                  stratify=y_tr if stratify else None)
        X_tr, y_tr = (halves[1], halves[3]) if part == "half1" else (halves[0], halves[2])
    return X_tr, X_te, y_tr, y_te


def test_score(model, X_te, y_te, task: str) -> float:
    """The default metric on the test rows, higher is better: ROC AUC (binary), minus the
    log loss (multiclass), minus the RMSE (regression)."""
    from sklearn.metrics import log_loss, roc_auc_score, root_mean_squared_error

    if task == "regression":
        return -float(root_mean_squared_error(y_te, model.predict(X_te)))
    proba = model.predict_proba(X_te)
    if len(model.classes_) == 2:
        return float(roc_auc_score(np.asarray(y_te) == model.classes_[1], proba[:, 1]))
    return -float(log_loss(y_te, proba, labels=model.classes_))


def _fit(task, seed: int, budget: float, store, part: str = "all") -> dict:
    from autometa import AutoMetaClassifier, AutoMetaRegressor
    from autometa.errors import NoSuccessfulTrial

    portfolio = load(task.task).without([task.group])  # no task of the pair's group
    X_tr, X_te, y_tr, y_te = _split(task, seed, part)
    cls = AutoMetaRegressor if task.task == "regression" else AutoMetaClassifier
    model = cls(time_budget=budget, random_state=seed, portfolio=portfolio,
                experience=store if store is not None else False, experience_tag=task.name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model.fit(X_tr, y_tr)
        except NoSuccessfulTrial as exc:  # every trial failed (or timed out) in the budget
            return {"losses": [], "origins": [], "test": None, "best": None,
                    "error": str(exc)}
    return {"losses": [t.loss if t.ok else None for t in model.trials_],
            "origins": [t.origin for t in model.trials_],
            "test": test_score(model, X_te, y_te, task.task),
            "best": float(-model.best_score_)}


PARTS = {"related": ("all", "all"), "refit": ("refit", "all"), "sample": ("half0", "half1")}


def run_pair(kind: str, first, second, seed: int, budget: float, folder: Path) -> dict:
    """The second task's fits with and without the first in the store (rows of each fit:
    :data:`PARTS`; a re-fit's second fit has 20 % more rows than its first)."""
    store = ExperienceStore(folder / f"{kind}-{first.name}-{second.name}-{seed}.db")
    first_part, second_part = PARTS[kind]
    before = _fit(first, seed, budget, store, first_part)
    warm = _fit(second, seed, budget, store, second_part)
    cold = _fit(second, seed, budget, None, second_part)
    return {"kind": kind, "task": second.task, "first": first.name, "second": second.name,
            "seed": seed, "budget": budget, "first_fit": before, "with": warm,
            "without": cold}


def related(args: argparse.Namespace) -> None:
    from benchmarks.provenance import record

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record(out / "run.json", "related")
    done = set()
    results = out / "results.jsonl"
    if results.exists():
        done = {(r["kind"], r["first"], r["second"], r["seed"])
                for r in map(json.loads, results.open())}
    for kind, first, second in related_pairs(args.corpus, args.pairs, args.samples):
        for seed in args.seeds:
            if (kind, first.name, second.name, seed) in done:
                continue
            row = run_pair(kind, first, second, seed, args.budget, out)
            with results.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(kind, first.name, second.name, seed, row["with"]["test"],
                  row["without"]["test"], flush=True)


def _regret_after(losses: list, low: float, high: float, k: int) -> float:
    """Normalised regret of the best loss among the first ``k`` trials (1 if none ok)."""
    seen = [x for x in losses[:k] if x is not None]
    if not seen or high <= low:
        return 1.0 if not seen else 0.0
    return (min(seen) - low) / (high - low)


def pair_summary(row: dict) -> dict:
    """Regret after 1, 5, 10 evaluations of the second task's fits, their test scores, and
    for a re-fit, the first trial's loss against the first fit's best."""
    both = [x for fit in ("with", "without") for x in row[fit]["losses"] if x is not None]
    low, high = (min(both), max(both)) if both else (0.0, 0.0)
    out = {"kind": row["kind"], "task": row.get("task", TASK),
           "pair": f"{row['first']} -> {row['second']}", "seed": row["seed"]}
    for fit in ("with", "without"):
        for k in (1, 5, 10):
            out[f"{fit}@{k}"] = _regret_after(row[fit]["losses"], low, high, k)
        out[f"{fit}_test"] = row[fit]["test"]  # None: the fit failed
        out[f"{fit}_failed"] = row[fit]["test"] is None
        out[f"{fit}_from_experience"] = row[fit]["origins"].count("experience")
    first = (row["with"]["losses"] or [None])[0]
    best = row["first_fit"]["best"]
    out["first_trial_vs_stored_best"] = None if first is None or best is None \
        else (first - best) / abs(best)
    return out


def _relative(value: float, base: float) -> float:
    return (value - base) / abs(base) if base else value - base


def pair_table(table):
    """Per pair (means over seeds): regrets, the relative test-score change with the store,
    and the seeds' noise: the relative spread of the test score without the store."""
    per_pair = table.groupby(["kind", "pair"]).mean(numeric_only=True)
    spread = table.groupby(["kind", "pair"])["without_test"].agg(lambda v: v.max() - v.min())
    per_pair["change"] = [_relative(w, o) for w, o in
                          zip(per_pair["with_test"], per_pair["without_test"], strict=True)]
    per_pair["noise"] = spread / per_pair["without_test"].abs().where(
        per_pair["without_test"] != 0, 1.0)
    return per_pair


def summarise(per_pair, label: str) -> None:
    """Median regrets and test-score counts of the pairs in ``per_pair``."""
    medians = per_pair[[f"{f}@{k}" for f in ("with", "without") for k in (1, 5, 10)]].median()
    change = per_pair["change"]
    beyond = per_pair[change < -per_pair["noise"]]
    print(f"\n{label}: {len(per_pair)} pairs; median normalised regret (mean of seeds), "
          "with / without the store:")
    print("  " + ", ".join(f"after {k}: {medians[f'with@{k}']:.4f} / "
                           f"{medians[f'without@{k}']:.4f}" for k in (1, 5, 10)))
    print(f"  test score with - without (relative): better on {int((change > 0).sum())}, "
          f"worse on {int((change < 0).sum())}, equal on {int((change == 0).sum())}; "
          f"median {change.median():+.4f}, worst {change.min():+.4f}")
    print(f"  seed noise (relative spread of the test score without the store over seeds): "
          f"median {per_pair['noise'].median():.4f}, max {per_pair['noise'].max():.4f}; "
          f"worse by more than the pair's own noise: {len(beyond)}"
          + (f" ({', '.join(p for _, p in beyond.index)})" if len(beyond) else ""))


def report(args: argparse.Namespace) -> None:
    import pandas as pd

    rows = [json.loads(line) for line in (Path(args.out) / "results.jsonl").open()]
    table = pd.DataFrame([pair_summary(r) for r in rows])
    failed = table[["with_failed", "without_failed"]].sum()
    print(f"{len(table)} runs; failed fits of the second task: {int(failed['with_failed'])} "
          f"with the store, {int(failed['without_failed'])} without (regret 1, test score "
          "left out)")
    per_pair = pair_table(table)
    pairs = per_pair.drop(index="refit", level="kind", errors="ignore")
    summarise(pairs, "related and sample pairs")
    for kind in ("related", "sample"):
        if kind in per_pair.index.get_level_values("kind"):
            summarise(per_pair.loc[[kind]], f"{kind} pairs")
    refits = table[table["kind"] == "refit"]
    if len(refits):
        gap = refits["first_trial_vs_stored_best"]
        print(f"\nre-fits: {len(refits)} runs; first trial's loss vs the first fit's best, "
              f"relative: median {gap.median():+.4f}, max {gap.max():+.4f}; "
              f"within 0.5 %: {int((gap <= 0.005).sum())} of {len(gap)}")
    print()
    print(table.round(4).to_string(index=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    over = sub.add_parser("overhead", help="reading and writing costs on a synthetic store")
    over.add_argument("--tasks", type=int, default=10_000)
    over.add_argument("--trials", type=int, default=100)
    over.add_argument("--store", default="/tmp/autometa-experience-bench.db")
    over.add_argument("--repeats", type=int, default=5)
    over.set_defaults(run=overhead)
    rel = sub.add_parser("related", help="second fits of related tasks, with and without")
    rel.add_argument("--corpus", default="../shared/datasets")
    rel.add_argument("--pairs", type=int, default=12)
    rel.add_argument("--samples", type=int, default=18,
                     help="sample pairs: one table, the two fits on disjoint halves of it")
    rel.add_argument("--budget", type=float, default=10.0)
    rel.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    rel.add_argument("--out", default="/tmp/autometa-experience-related",
                     help="raw results (results.jsonl, run.json, the stores)")
    rel.set_defaults(run=related)
    rep = sub.add_parser("report", help="summarise the related-task study")
    rep.add_argument("--out", default="/tmp/autometa-experience-related")
    rep.set_defaults(run=report)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
