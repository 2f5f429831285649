"""Ensemble-selection rules compared on the same searches.

For each task of the comparison (``compare.py``: same tasks, same 75/25 splits, the
portfolio without the task's group), autometa searches once; then the final ensemble is
chosen and refitted under each rule from that one search, so only the rule differs:

- ``before``: fixed-length selection (every step counts), constant predictors left out
  (autometa until November 2026);
- ``prefix``: the best of the nested ensembles the steps build (Caruana et al., 2004);
- ``gate-all``: fixed-length; under every metric, members must gain at least half the
  best trial's gain over predicting the prior;
- ``prefix+gate-all``: both;
- ``autometa``: autometa's ``GreedyEnsembler``: prefix, and the gate under rank metrics
  (ROC AUC) only;
- ``lean-T``: ``autometa``, keeping the earliest nested ensemble within a relative
  tolerance ``T`` of the best validation loss (fewer members, faster predictions).

Each rule is an ensembler (:class:`RuleEnsembler`) handed to
:func:`autometa.automl.final_ensemble` on the same search result.

Every ensemble's refit gets the whole budget (none is squeezed by the search), so refit
sizes match across rules. Rows are appended to ``OUT/results.jsonl`` per task; a re-run
skips the tasks done. ``OUT/run.json`` records the run's command, date, git commit and
machine.

Usage::

    python benchmarks/ensemble_rules.py run --budget 30
    python benchmarks/ensemble_rules.py report
    python benchmarks/ensemble_rules.py run --budget 30 --out OUT_FIRST \\
        --rules before prefix gate-all prefix+gate-all
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import compare
import compare_runner
import numpy as np
import pandas as pd
import provenance

from autometa.automl import FitResult, final_ensemble, run_automl
from autometa.data import as_frame
from autometa.ensemble import ensemble_selection
from autometa.final import GreedyEnsembler, gaining, informative
from autometa.plan import FitPlan
from autometa.pool import borrowed_pool
from autometa.table import Table

OUT = compare.HERE / "results" / "ensemble_rules"
RULES = ("before", "prefix", "gate-all", "prefix+gate-all", "autometa", "lean-0.001",
         "lean-0.003", "lean-0.01")
DEFAULT_RULES = ("before", "prefix", "autometa")


@dataclass(frozen=True)
class RuleEnsembler:
    """An ensembler applying ``rule`` (``"autometa"``: autometa's own)."""

    rule: str
    size: int = 50
    nbest: int = 50

    def weights(self, state, data) -> dict[int, float]:
        if self.rule == "autometa":
            return GreedyEnsembler(self.size, self.nbest).weights(state, data)
        if self.rule.startswith("lean-"):
            tolerance = float(self.rule.removeprefix("lean-"))
            return GreedyEnsembler(self.size, self.nbest, tolerance=tolerance).weights(
                state, data)
        gate, prefix = "gate" in self.rule, self.rule.startswith("prefix")
        y_val = data.y[data.val_index]
        ranked = sorted(state.successes, key=lambda t: t.loss)
        ok = ((gaining(ranked, data) if gate else informative(ranked, state))
              or ranked)[:self.nbest]
        weights = ensemble_selection([state.predictions[t.id] for t in ok],
                                     lambda p: data.metric.loss(y_val, p), size=self.size,
                                     best_nested=prefix)
        return {t.id: float(w) for t, w in zip(ok, weights, strict=True) if w > 0}


@contextmanager
def one_search(X, y, task: str, budget: float, n_jobs: int, seed: int = 0, **settings):
    """One autometa search (its own ensemble unused); yields ``ensembles(rule)``, which
    selects and refits an ensemble from that search under ``rule`` with the whole budget
    for the refit, and the typed table."""
    table = Table.from_raw(X, y, task)
    with borrowed_pool(n_jobs) as executor:
        executor.start()
        plan = FitPlan.create(budget, len(table.y), n_classes=table.n_classes, seed=seed,
                              n_workers=executor.capacity,
                              **settings)
        result: FitResult = run_automl(table, plan, executor=executor)

        def ensemble(rule: str):
            fresh = replace(plan, start=time.monotonic())  # every refit gets the whole budget
            return final_ensemble(result.state, result.data, fresh, executor,
                                  RuleEnsembler(rule))[0]

        yield ensemble, table, result


def run_task(task: compare.Task, corpus: list[compare.Task], rules: list[str], budget: float,
             n_jobs: int) -> list[dict]:
    X, y, X_test, y_test, portfolio = compare.held_out(task, corpus, 0)
    rows = []
    with one_search(X, y, compare_runner.task_type({"type": task.type}), budget, n_jobs,
                    portfolio=portfolio) as (ensemble, table, result):
        frame = table.schema.transform(as_frame(X_test))
        for rule in rules:
            chosen = ensemble(rule)
            start = time.perf_counter()
            pred = chosen.predict(frame, n_threads=n_jobs)
            elapsed = time.perf_counter() - start
            if table.classes is not None:
                pred = compare_runner.align_proba(pred, list(table.classes), task.n_classes)
            rows.append({"task": task.name, "type": task.type, "rule": rule,
                         "score": compare.score(task.type, y_test, pred, task.n_classes),
                         "members": len(chosen.members), "trials": len(result.trials),
                         "predict_ms_per_1000": 1e6 * elapsed / len(pred)})
    return rows


def run(args: argparse.Namespace) -> None:
    corpus = compare.read_manifest(args.corpus)
    tasks = compare.select_tasks(corpus, args.tasks, 0)
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / "results.jsonl"
    done = {r["task"] for r in compare.read_rows(results)}
    provenance.record(args.out / "run.json", "run")
    for n, task in enumerate(tasks, 1):
        if task.name in done:
            continue
        rows = run_task(task, corpus, args.rules, args.budget, args.n_jobs)
        with results.open("a") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
        print(f"[{n}/{len(tasks)}] {task.name}: " + ", ".join(
            f"{r['rule']} {r['score']:.4f} ({r['members']})" for r in rows), flush=True)


def report(args: argparse.Namespace) -> None:
    rows = pd.DataFrame(compare.read_rows(args.out / "results.jsonl"))
    sign = np.where(rows["type"] == "binary", 1.0, -1.0)  # ROC AUC up, log loss / RMSE down
    rows["signed"] = sign * rows["score"]
    wide = rows.pivot(index="task", columns="rule", values="signed")
    types = rows.groupby("task")["type"].first()
    base = args.baseline
    lines = [f"| rule | better / worse / same vs {base} | binary | multiclass | regression "
             f"| mean change vs {base}, % | members, median | predict ms / 1k rows, median |",
             "|---" * 8 + "|"]
    for rule in [r for r in RULES if r in wide.columns]:
        diff = wide[rule] - wide[args.baseline]
        by_type = [_wlt(diff[types == kind]) for kind in compare.TYPES]
        change = 100 * (diff / wide[base].abs()).mean()
        chosen = rows[rows["rule"] == rule]
        lines.append(f"| {rule} | {_wlt(diff)} | " + " | ".join(by_type)
                     + f" | {change:+.2f} | {chosen['members'].median():g} "
                     f"| {chosen['predict_ms_per_1000'].median():.1f} |")
    (args.out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _wlt(diff: pd.Series, tol: float = 1e-9) -> str:
    return f"{(diff > tol).sum()}-{(diff < -tol).sum()}-{(diff.abs() <= tol).sum()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--corpus", type=Path, default=compare.ROOT.parent / "shared" / "datasets")
    r.add_argument("--tasks", type=int, default=30)
    r.add_argument("--budget", type=float, default=30)
    r.add_argument("--n-jobs", type=int, default=2)
    r.add_argument("--rules", nargs="+", choices=RULES, default=list(DEFAULT_RULES))
    r.add_argument("--out", type=Path, default=OUT)
    p = sub.add_parser("report")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--baseline", default="before", choices=RULES)
    args = parser.parse_args()
    run(args) if args.command == "run" else report(args)


if __name__ == "__main__":
    main()
