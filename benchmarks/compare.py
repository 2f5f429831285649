"""autometa against default LightGBM, HistGradientBoosting and random forest (and FLAML and
AutoGluon-Tabular when their virtual environments exist) on tasks of the corpus.

Every system gets the same 75/25 train/test split per task and seed (stratified for
classification, class labels encoded as 0..K-1 in sorted order), the same wall-clock budget
and the same number of cores. Each (system, task, seed) runs in its own subprocess
(``compare_runner.py``, executed by the system's interpreter), killed at 2 x budget + 60 s;
a crash or a kill is recorded as a failure. Scores: ROC AUC (binary), log loss (multiclass,
probabilities clipped to [1e-15, 1]), RMSE (regression); plus fit wall time against the
budget, predict time per 1,000 rows, the peak resident memory of the run's process tree
(sampled every 0.2 s) and of its largest process (GNU time), and CPU seconds.

No leakage: autometa's portfolio was learned from this corpus, so on each task it runs with
``autometa.portfolio.load(task_type).without([group])``, the portfolio without the task's
group and the candidates their searches found (leave-one-group-out). ``--no-loo`` uses the
shipped portfolio instead; that *leaks* the task into the warm start, and those results are
recorded as system ``autometa-noloo``. System ``autometa-fast`` is autometa under
``infer_limit=1e-5`` (10 ms per 1,000 rows; ``compare_runner.INFER_LIMIT``), system
``autometa-raw`` autometa with ``target_transform="none"``, system ``autometa-boundary``
autometa with ``proxy_subsets="boundary"`` (``compare_runner.VARIANTS``), system
``autogluon-best`` AutoGluon with ``presets="best_quality"``.

Results are appended to ``OUT/results.jsonl`` as they come; a re-run skips the (system, task,
seed) runs already there (``--retry-failed`` repeats the failed ones). ``--reuse FROM`` starts
``OUT`` with the rows of ``FROM`` (a results directory at the same budget and cores) of the
systems not being run, so that autometa alone can be run again against the same peers.

Usage::

    python benchmarks/compare.py run --tasks 30 --budget 60 --n-jobs 2
    python benchmarks/compare.py run --tasks 30 --budget 60 --n-jobs 2 --systems autometa \
        --reuse benchmarks/results/compare/latest --out benchmarks/results/compare/next
    python benchmarks/compare.py run --only iris autoMpg --budget 10 --out /tmp/cmp
    python benchmarks/compare.py summarize [--out DIR] [--readme README.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import provenance
import psutil
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RUNNER = HERE / "compare_runner.py"
OUT = HERE / "results" / "compare" / "latest"  # the current comparison
SYSTEMS = ("autometa", "autometa-noloo", "autometa-fast", "autometa-raw", "autometa-boundary",
           "lightgbm", "hgb", "rf", "flaml", "autogluon", "autogluon-best")
DEFAULT_SYSTEMS = ("autometa", "lightgbm", "hgb", "rf", "flaml", "autogluon")
PEER_VENVS = {"flaml": ROOT / ".venv-flaml", "autogluon": ROOT / ".venv-autogluon",
              "autogluon-best": ROOT / ".venv-autogluon"}
REFERENCE = "lightgbm"  # normalised score 0
STACK_DUMP_WAIT = 2.0  # seconds a runner killed for overrunning gets to log its stacks
TYPES = ("binary", "multiclass", "regression")
METRICS = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}
HIGHER_IS_BETTER = {"roc_auc": True, "log_loss": False, "rmse": False}
PROBA_CLIP = 1e-15
TEST_SIZE = 0.25
SAMPLE_EVERY = 0.2  # seconds between memory samples of a running system
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
GNU_TIME = Path("/usr/bin/time")
README_START, README_END = "<!-- compare:start -->", "<!-- compare:end -->"


@dataclass(frozen=True)
class Task:
    """One corpus task, typed as binary, multiclass or regression."""

    name: str
    type: str
    group: str
    target: str
    path: str
    n_rows: int
    n_features: int
    n_classes: int | None


# -- tasks and splits ---------------------------------------------------------------------------


def read_manifest(corpus: Path) -> list[Task]:
    """All tasks of ``corpus/manifest.json``."""
    tasks = []
    for m in json.loads((corpus / "manifest.json").read_text()):
        kind = ("regression" if m["task"] == "regression"
                else "binary" if m["n_classes"] == 2 else "multiclass")
        tasks.append(Task(m["name"], kind, m.get("group") or m["name"], m["target"],
                          str(corpus / "data" / f"{m['name']}.parquet"), m["n_rows"],
                          m["n_features"], m["n_classes"]))
    return tasks


def select_tasks(tasks: list[Task], n: int, seed: int, max_rows: int | None = None
                 ) -> list[Task]:
    """A seeded choice of ``n`` tasks, a third of each type (remainder to binary, then
    multiclass), at most one per group, optionally of at most ``max_rows`` rows."""
    rng = np.random.default_rng(seed)
    chosen: list[Task] = []
    for i, kind in enumerate(TYPES):
        quota = n // len(TYPES) + (i < n % len(TYPES))
        pool = [t for t in tasks if t.type == kind and (max_rows is None or t.n_rows <= max_rows)]
        groups: set[str] = set()
        for j in rng.permutation(len(pool)):
            if len(groups) == quota:
                break
            if pool[j].group not in groups:
                groups.add(pool[j].group)
                chosen.append(pool[j])
    return chosen


def split_seed(task: Task, seed: int) -> int:
    """The train/test split seed of a task and run seed (same for every system)."""
    return (zlib.crc32(task.name.encode()) + 1_000 * seed) % 2**31


def prepare_split(task: Task, seed: int, directory: Path) -> np.ndarray:
    """Write the task's train/test split for the runners; returns the test targets.

    Class labels become 0..K-1 in sorted order of their string form.
    """
    frame = pd.read_parquet(task.path)
    X, y = frame.drop(columns=[task.target]), frame[task.target]
    if task.type != "regression":
        classes = sorted(map(str, y.unique()))
        y = y.astype(str).map({c: i for i, c in enumerate(classes)}).astype(np.int64)
    train, test = train_test_split(np.arange(len(X)), test_size=TEST_SIZE,
                                   random_state=split_seed(task, seed),
                                   stratify=None if task.type == "regression" else y)
    X.iloc[train].reset_index(drop=True).to_parquet(directory / "X_train.parquet")
    X.iloc[test].reset_index(drop=True).to_parquet(directory / "X_test.parquet")
    np.save(directory / "y_train.npy", y.to_numpy()[train])
    return y.to_numpy()[test]


class HeldOut(NamedTuple):
    """A task's split as the comparison draws it, and autometa's portfolio without the
    task's group: what a study needs to fit autometa on a task it has not learnt from."""

    X: pd.DataFrame
    y: np.ndarray
    X_test: pd.DataFrame
    y_test: np.ndarray
    portfolio: object


def held_out(task: Task, corpus: list[Task], seed: int) -> HeldOut:
    """``task``'s split of ``seed`` and the shipped portfolio without its group."""
    import compare_runner

    with tempfile.TemporaryDirectory() as tmp:
        y_test = prepare_split(task, seed, Path(tmp))
        X = pd.read_parquet(Path(tmp) / "X_train.parquet")
        y = np.load(Path(tmp) / "y_train.npy", allow_pickle=True)
        X_test = pd.read_parquet(Path(tmp) / "X_test.parquet")
    meta = {"type": task.type, "group": task.group, "portfolio": "loo",
            "group_tasks": [t.name for t in corpus if t.group == task.group]}
    portfolio, _ = compare_runner.portfolio_for(meta)
    return HeldOut(X, y, X_test, y_test, portfolio)


def write_meta(task: Task, seed: int, args: argparse.Namespace, directory: Path,
               system: str, siblings: list[str]) -> None:
    """The runner's instructions for one run (``siblings``: the tasks of the task's group)."""
    meta = {"task": task.name, "system": system, "type": task.type, "group": task.group,
            "group_tasks": siblings, "n_classes": task.n_classes, "seed": seed,
            "budget": args.budget, "n_jobs": args.n_jobs,
            "portfolio": "shipped" if system.endswith("noloo") else "loo"}
    (directory / "meta.json").write_text(json.dumps(meta))


# -- scoring ------------------------------------------------------------------------------------


def score(kind: str, y_true: np.ndarray, pred: np.ndarray, n_classes: int | None) -> float:
    """ROC AUC (binary), log loss (multiclass) or RMSE (regression) of test predictions."""
    if not np.all(np.isfinite(pred)):
        raise ValueError("non-finite predictions")
    if kind == "regression":
        return float(np.sqrt(np.mean((y_true - pred.ravel()) ** 2)))
    if pred.ndim != 2 or pred.shape[1] != n_classes:
        raise ValueError(f"probabilities of shape {pred.shape} for {n_classes} classes")
    proba = np.clip(pred, PROBA_CLIP, 1.0)
    proba /= proba.sum(axis=1, keepdims=True)
    if kind == "binary":
        return float(roc_auc_score(y_true, proba[:, 1]))
    return float(log_loss(y_true, proba, labels=np.arange(n_classes)))


# -- running one system in a subprocess ---------------------------------------------------------


def interpreter(system: str) -> Path | None:
    """The Python that runs ``system`` (None when its virtual environment is missing)."""
    if system not in PEER_VENVS:
        return Path(sys.executable)
    python = PEER_VENVS[system] / "bin" / "python"
    return python if python.exists() else None


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (0 when it is gone)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def kill_group(pgid: int) -> None:
    """SIGKILL the process group of a run (the runner and whatever it started)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def dump_stacks(pid: int) -> None:
    """Ask a runner that overran to write its threads' stacks to its log (see
    ``compare_runner.main``), and give it a moment to."""
    try:
        os.kill(pid, signal.SIGUSR1)
        time.sleep(STACK_DUMP_WAIT)
    except (ProcessLookupError, PermissionError):
        pass


def watch(proc: subprocess.Popen, limit: float) -> dict:
    """Wait for ``proc``, sampling its tree's memory, killing its group after ``limit`` s."""
    start, peak, killed = time.monotonic(), 0, False
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, tree_rss(proc.pid))
            if not killed and time.monotonic() - start > limit:
                dump_stacks(proc.pid)
                kill_group(proc.pid)
                killed = True
            time.sleep(SAMPLE_EVERY)
    except BaseException:  # Ctrl-C: the run (in its own session) must not outlive us
        kill_group(proc.pid)
        raise
    kill_group(proc.pid)  # leftovers (e.g. worker processes) of a finished run
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"returncode": proc.returncode, "timed_out": killed,
            "wall_s": time.monotonic() - start, "peak_rss_mb": peak / 2**20,
            "cpu_s": usage.ru_utime + usage.ru_stime}


def launch(system: str, split: Path, rundir: Path, log: Path, n_jobs: int
           ) -> subprocess.Popen:
    """Start the runner of ``system`` in a new session (its own process group)."""
    env = {**os.environ, **dict.fromkeys(THREAD_VARS, str(n_jobs)), "PYTHONUNBUFFERED": "1"}
    timer = ([str(GNU_TIME), "-f", "%M", "-o", str(rundir / "maxrss.kb")]
             if GNU_TIME.exists() else [])
    command = [*timer, str(interpreter(system)), str(RUNNER), system, str(split), str(rundir)]
    with log.open("w") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=rundir,
                                env=env, start_new_session=True)


def max_process_rss_mb(rundir: Path) -> float | None:
    """The largest resident size of the runner or of a process it waited for, by GNU time.

    (``wait4`` on the runner itself would not do: on Linux a child's ``ru_maxrss`` starts
    from the size of the parent it was forked from, here this script.)
    """
    try:
        return int((rundir / "maxrss.kb").read_text().split()[-1]) / 1024
    except (OSError, ValueError, IndexError):
        return None


def run_one(system: str, task: Task, seed: int, split: Path, y_test: np.ndarray,
            args: argparse.Namespace, siblings: list[str]) -> dict:
    """Fit and score one system on one split; a result row (``status`` says how it went)."""
    row = {"system": system, "task": task.name, "seed": seed, "type": task.type,
           "metric": METRICS[task.type], "budget": args.budget, "n_jobs": args.n_jobs,
           "n_rows": task.n_rows, "n_features": task.n_features, "n_test": len(y_test),
           "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "loadavg_1m": os.getloadavg()[0]}
    log = args.out / "logs" / f"{system}__{task.name}__s{seed}.log"
    with tempfile.TemporaryDirectory(prefix=f"compare-{system}-") as tmp:
        rundir = Path(tmp)
        write_meta(task, seed, args, split, system, siblings)
        watched = watch(launch(system, split, rundir, log, args.n_jobs),
                        2 * args.budget + 60)
        row.update(watched, max_process_rss_mb=max_process_rss_mb(rundir))
        row.update(collect(rundir, task, y_test, watched, log))
        if (rundir / "pred.npy").exists():  # kept for later studies of the predictions
            shutil.copy(rundir / "pred.npy", args.out / "predictions" / f"{log.stem}.npy")
    if row["status"] == "ok":
        row["fit_over_budget"] = row["fit_s"] / args.budget
    return row


def collect(rundir: Path, task: Task, y_test: np.ndarray, watched: dict, log: Path) -> dict:
    """Status, score and the runner's own measurements of a finished run."""
    if watched["timed_out"]:
        return {"status": "timeout", "error": f"killed after {watched['wall_s']:.0f} s"}
    result = rundir / "result.json"
    if watched["returncode"] != 0 or not result.exists():
        return {"status": "error", "error": log_tail(log)}
    found = json.loads(result.read_text())
    try:
        value = score(task.type, y_test, np.load(rundir / "pred.npy"), task.n_classes)
    except ValueError as exc:
        return {"status": "bad_predictions", "error": str(exc), **found}
    return {"status": "ok", "score": value, "fit_s": found["fit_s"],
            "predict_ms_per_1000": 1e3 * found["predict_s_per_1000"],
            "test_predict_s": found["test_predict_s"], "versions": found["versions"],
            "notes": found["notes"]}


def log_tail(log: Path, lines: int = 5) -> str:
    """The last lines of a run's log (its error, usually)."""
    try:
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


# -- the run ------------------------------------------------------------------------------------


def read_rows(path: Path) -> list[dict]:
    """The result rows written so far (none when the file does not exist)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_settings(directory: Path, args: argparse.Namespace,
                  advice: str = "use another --out") -> dict | None:
    """``directory/run.json`` (None when absent); refuses another budget or core count."""
    path = directory / "run.json"
    if not path.exists():
        return None
    info = json.loads(path.read_text())
    if (info["budget"], info["n_jobs"]) != (args.budget, args.n_jobs):
        raise SystemExit(f"{directory} holds results at budget {info['budget']} s and "
                         f"n_jobs {info['n_jobs']}; {advice}.")
    return info


def check_settings(args: argparse.Namespace, reused: list[dict] | None) -> None:
    """Refuse to mix budgets or core counts in one results directory; record the run (with
    its git commit, and where the reused rows come from)."""
    before = read_settings(args.out, args)
    info = {"budget": args.budget, "n_jobs": args.n_jobs, **provenance.describe(before)}
    reused = reused or (before or {}).get("reused")
    if reused:
        info["reused"] = reused
    (args.out / "run.json").write_text(json.dumps(info, indent=1) + "\n")


def reuse(source: Path, args: argparse.Namespace, systems: list[str]) -> list[dict]:
    """Append to ``OUT/results.jsonl`` the rows of ``source`` of the systems not being run
    (those not there yet); returns, per run they came from, the systems and that run's
    command, date and commit (``run.json``'s ``reused``)."""
    if source.resolve() == args.out:
        raise SystemExit("--reuse needs another directory than --out.")
    info = read_settings(source, args, "--reuse needs the same budget and cores")
    if info is None:
        raise SystemExit(f"{source} has no run.json: its budget and cores are unknown.")
    rows = [r for r in read_rows(source / "results.jsonl") if r["system"] not in systems]
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / "results.jsonl"
    have = {(r["system"], r["task"], r["seed"]) for r in read_rows(results)}
    with results.open("a") as f:
        f.writelines(json.dumps(r, default=str) + "\n" for r in rows
                     if (r["system"], r["task"], r["seed"]) not in have)
    copied = {r["system"] for r in rows}
    groups = info.get("reused", [])
    own = copied - {s for g in groups for s in g["systems"]}
    origins = [{"systems": sorted(own, key=SYSTEMS.index),
                **{k: info[k] for k in ("command", "date", "commit", "dirty", "earlier")
                   if k in info}}] if own else []
    origins += [{**g, "systems": [s for s in g["systems"] if s in copied]} for g in groups]
    return [g for g in origins if g["systems"]]


def chosen_systems(args: argparse.Namespace) -> list[str]:
    """The systems to run, peers without a virtual environment left out (with a note)."""
    systems = ["autometa-noloo" if s == "autometa" and args.no_loo else s for s in args.systems]
    missing = [s for s in systems if interpreter(s) is None]
    for s in missing:
        print(f"{s}: {PEER_VENVS[s]} not found (bash benchmarks/peers_setup.sh); skipped")
    return [s for s in systems if s not in missing]


def chosen_tasks(args: argparse.Namespace, tasks: list[Task]) -> list[Task]:
    """``--only`` tasks, else a seeded stratified choice of ``--tasks``."""
    if args.only:
        by_name = {t.name: t for t in tasks}
        unknown = [n for n in args.only if n not in by_name]
        if unknown:
            raise SystemExit(f"Not in the corpus: {', '.join(unknown)}")
        return [by_name[n] for n in args.only]
    return select_tasks(tasks, args.tasks, args.select_seed, args.max_rows)


def run(args: argparse.Namespace) -> None:
    corpus = read_manifest(args.corpus)
    tasks, systems = chosen_tasks(args, corpus), chosen_systems(args)
    per_type = ", ".join(f"{k}: {sum(t.type == k for t in tasks)}" for k in TYPES)
    print(f"{len(tasks)} tasks ({per_type}) x {len(systems)} systems ({', '.join(systems)}) "
          f"x {len(args.seeds)} seed(s); budget {args.budget:g} s, {args.n_jobs} cores")
    if args.dry_run:
        for t in tasks:
            print(f"  {t.type:10s} {t.name:32s} {t.n_rows:6d} rows {t.n_features:4d} features")
        return
    read_settings(args.out, args)
    reused = reuse(args.reuse, args, systems) if args.reuse else None
    (args.out / "logs").mkdir(parents=True, exist_ok=True)
    (args.out / "predictions").mkdir(exist_ok=True)
    check_settings(args, reused)
    results = args.out / "results.jsonl"
    done = {(r["system"], r["task"], r["seed"]) for r in read_rows(results)
            if r["status"] == "ok" or not args.retry_failed}
    for n, task in enumerate(tasks, 1):
        for seed in args.seeds:
            todo = [s for s in systems if (s, task.name, seed) not in done]
            if todo:
                siblings = [t.name for t in corpus if t.group == task.group]
                run_task(task, seed, todo, args, results, f"[{n}/{len(tasks)}]", siblings)


def run_task(task: Task, seed: int, systems: list[str], args: argparse.Namespace,
             results: Path, progress: str, siblings: list[str]) -> None:
    """All given systems on one split of one task; each row appended as soon as it is done."""
    with tempfile.TemporaryDirectory(prefix="compare-split-") as tmp:
        split = Path(tmp)
        y_test = prepare_split(task, seed, split)
        for system in systems:
            row = run_one(system, task, seed, split, y_test, args, siblings)
            with results.open("a") as f:
                f.write(json.dumps(row, default=str) + "\n")
            shown = (f"{row['metric']} {row['score']:.4f}, fit {row['fit_s']:.1f} s"
                     if row["status"] == "ok" else f"{row['status']}: {row['error'][:200]}")
            print(f"{progress} {task.name} s{seed} {system}: {shown}, peak "
                  f"{row['peak_rss_mb']:.0f} MB, wall {row['wall_s']:.0f} s", flush=True)


# -- summary ------------------------------------------------------------------------------------


def per_task_table(rows: list[dict], systems: list[str] | None) -> pd.DataFrame:
    """One row per (task, system): mean score over seeds, normalised score and rank.

    Only tasks on which every system has a result (ok or failed) are kept. ``normalised``:
    ``(s - s_lightgbm) / (s_best - s_lightgbm)`` on the higher-is-better score ``s``, so 0 is
    default LightGBM and 1 the best system; when LightGBM is itself the best, the others are
    scaled by the gap to the worst instead (so in [-1, 0]); clipped to [-1, 1]; a failure
    counts -1 and ranks last.
    """
    frame = pd.DataFrame(rows).drop_duplicates(["system", "task", "seed"], keep="last")
    if systems:
        frame = frame[frame["system"].isin(systems)]
    present = [s for s in SYSTEMS if s in set(frame["system"])]
    complete = frame.groupby("task")["system"].nunique() == len(present)
    frame = frame[frame["task"].isin(complete[complete].index)]
    frame = frame.assign(ok=frame["status"] == "ok")
    numeric = ["score", "fit_s", "fit_over_budget", "predict_ms_per_1000", "peak_rss_mb",
               "max_process_rss_mb", "cpu_s", "wall_s"]
    for column in numeric:
        if column not in frame:
            frame[column] = np.nan
    ok = frame[frame["ok"]]
    table = ok.groupby(["task", "system"])[numeric].mean()
    info = frame.groupby(["task", "system"]).agg(
        type=("type", "first"), metric=("metric", "first"), runs=("seed", "size"),
        failed=("ok", lambda s: int((~s).sum())),
        peak_rss_mb_all=("peak_rss_mb", "max"))
    table = info.join(table).reset_index()
    table["oriented"] = np.where(table["metric"].map(HIGHER_IS_BETTER), 1, -1) * table["score"]
    parts = [_normalise(group) for _, group in table.groupby("task")]
    return pd.concat(parts).sort_values(["type", "task", "system"]).reset_index(drop=True)


def _normalise(group: pd.DataFrame) -> pd.DataFrame:
    """Normalised score and rank of the systems on one task."""
    s = group["oriented"]
    ref = s[group["system"] == REFERENCE]
    ref = float(ref.iloc[0]) if len(ref) else np.nan
    best, worst = s.max(), s.min()
    span = best - ref if best > ref else ref - worst
    norm = (s - ref) / span if span > 0 else s * 0.0
    group = group.copy()
    group["normalised"] = norm.clip(-1, 1).fillna(-1.0) if np.isfinite(ref) else np.nan
    group["rank"] = s.fillna(-np.inf).rank(ascending=False, method="average")
    return group


def pairwise(table: pd.DataFrame, systems: list[str]) -> pd.DataFrame:
    """Wins-losses-ties of each row system against each column system over the tasks."""
    wide = table.pivot(index="task", columns="system", values="oriented")
    out = pd.DataFrame(index=systems, columns=systems, dtype=object)
    for a in systems:
        for b in systems:
            if a == b:
                out.loc[a, b] = "-"
                continue
            sa, sb = wide[a].fillna(-np.inf), wide[b].fillna(-np.inf)
            tie = np.isclose(sa, sb, rtol=1e-9, atol=1e-12) | (sa == sb)
            out.loc[a, b] = f"{int(((sa > sb) & ~tie).sum())}-{int(((sa < sb) & ~tie).sum())}" \
                            f"-{int(tie.sum())}"
    return out


def overview(table: pd.DataFrame, systems: list[str]) -> pd.DataFrame:
    """The headline table: one row per system."""
    by = table.groupby("system")
    out = pd.DataFrame({
        "tasks": by["task"].nunique(),
        "failed runs": by["failed"].sum(),
        "mean rank": by["rank"].mean(),
        "mean normalised": by["normalised"].mean(),
        "median normalised": by["normalised"].median(),
        "fit / budget, median": by["fit_over_budget"].median(),
        "fit / budget, max": by["fit_over_budget"].max(),
        "predict ms / 1k rows, median": by["predict_ms_per_1000"].median(),
        "peak MB, median": by["peak_rss_mb_all"].median(),
        "peak MB, max": by["peak_rss_mb_all"].max(),
    })
    return out.loc[systems]


def by_type(table: pd.DataFrame, systems: list[str]) -> pd.DataFrame:
    """Mean normalised score (and number of tasks) per task type."""
    means = table.pivot_table(index="system", columns="type", values="normalised",
                              aggfunc="mean")
    counts = table.groupby("type")["task"].nunique()
    means.columns = [f"{c} ({counts[c]})" for c in means.columns]
    return means.loc[systems]


def markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    """A DataFrame as a GitHub markdown table (index as the first column)."""

    def cell(v) -> str:
        if isinstance(v, float | np.floating):
            return "" if np.isnan(v) else f"{v:.{digits}f}"
        return str(v)

    head = [frame.index.name or "", *map(str, frame.columns)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join([str(i), *map(cell, r)]) + " |"
              for i, r in zip(frame.index, frame.itertuples(index=False), strict=True)]
    return "\n".join(lines)


def versions_seen(rows: list[dict]) -> dict[str, dict]:
    """The library versions each system ran with (from its last successful run)."""
    return {r["system"]: r["versions"] for r in rows if r.get("versions")}


def leakage_line(rows: list[dict]) -> str:
    """How many autometa runs had their task's group in the portfolio they started from."""
    notes = [r["notes"] for r in rows if r["system"].startswith("autometa") and r.get("notes")]
    seen = sum(bool(n.get("group_seen")) for n in notes)
    held = sum(n.get("held_out_tasks", 0) > 0 or n.get("held_out_candidates", 0) > 0
               for n in notes)
    return (f"Leakage check: {seen} of {len(notes)} autometa runs started from a portfolio "
            f"holding their task's group (tasks or candidates); {held} had tasks or "
            "candidates of their group held out.")


def summary_text(table: pd.DataFrame, systems: list[str], info: dict, rows: list[dict]) -> str:
    """summary.md: settings, the headline table, per-type scores and pairwise results."""
    n = table["task"].nunique()
    counts = ", ".join(f"{k} {v}" for k, v in table.groupby("type")["task"].nunique().items())
    seeds = sorted({r["seed"] for r in rows})
    m = info.get("machine", {})
    seen = versions_seen(rows)
    versions = {s: seen[s] for s in systems if s in seen}  # in the tables' order
    head = overview(table, systems)
    head.index.name = "system"
    pairs = pairwise(table, systems)
    pairs.index.name = "row vs column: W-L-T"
    types = by_type(table, systems)
    types.index.name = "mean normalised by type"
    reused = "".join(f" {', '.join(g['systems'])}"
                     + (f" on {', '.join(g['tasks'])}" if g.get("tasks") else "")
                     + f": the rows of the run of {g.get('date')} "
                     f"{provenance.at_commit(g)} (`{g.get('command')}`)."
                     for g in info.get("reused", []))
    return "\n".join([
        f"Budget {info.get('budget')} s, {info.get('n_jobs')} cores, {n} tasks ({counts}), "
        f"seed(s) {seeds}; run {info.get('date')} {provenance.at_commit(info)} with "
        f"`{info.get('command')}`.{reused}",
        f"Machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gb')} GB, "
        f"{m.get('os')}, Python {m.get('python')}.",
        "Versions: " + "; ".join(f"{s}: " + ", ".join(f"{k} {v}" for k, v in vs.items()
                                                      if k != "python")
                                 for s, vs in versions.items()) + ".",
        leakage_line(rows),
        "", markdown(head, 2), "", markdown(types, 3), "", markdown(pairs), "",
        "Metrics: ROC AUC (binary), log loss (multiclass), RMSE (regression) on a 25 % test "
        "split. Normalised score per task: 0 = default LightGBM, 1 = best system (when "
        "LightGBM is the best, the others are scaled by the gap to the worst, so <= 0); "
        "clipped to [-1, 1]; a failure counts -1 and ranks last. Peak MB: resident memory "
        "of the run's whole process tree (workers included), sampled every 0.2 s.",
    ]) + "\n"


def plot(table: pd.DataFrame, systems: list[str], path: Path) -> None:
    """Per-task normalised scores, one marker per system, tasks grouped by type."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wide = table.pivot(index="task", columns="system", values="normalised")
    kinds = table.groupby("task")["type"].first()
    key = "autometa" if "autometa" in wide else systems[0]
    order = sorted(wide.index, key=lambda t: (TYPES.index(kinds[t]), wide.loc[t, key]))
    fig, ax = plt.subplots(figsize=(8, 1.5 + 0.28 * len(order)))
    markers = "os^vDPX*"
    for i, system in enumerate(systems):
        ax.scatter(wide.loc[order, system], range(len(order)), label=system,
                   marker=markers[i % len(markers)], s=28, alpha=0.8)
    ax.set_yticks(range(len(order)), [f"{t} ({kinds[t][:3]})" for t in order], fontsize=7)
    ax.axvline(0, color="grey", lw=0.8)
    ax.axvline(1, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("normalised score (0 = default LightGBM, 1 = best system on the task)")
    ax.set_xlim(-1.05, 1.05)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def put_in_readme(readme: Path, text: str) -> None:
    """Replace the block between the compare markers of ``readme`` with ``text``."""
    doc = readme.read_text()
    if README_START not in doc or README_END not in doc:
        raise SystemExit(f"{readme} has no {README_START} ... {README_END} block.")
    before, rest = doc.split(README_START, 1)
    after = rest.split(README_END, 1)[1]
    readme.write_text(f"{before}{README_START}\n{text}{README_END}{after}")


def summarize(args: argparse.Namespace) -> None:
    rows = read_rows(args.out / "results.jsonl")
    if args.seeds:
        rows = [r for r in rows if r["seed"] in set(args.seeds)]
    if not rows:
        raise SystemExit(f"No results in {args.out}" + (f" for seeds {args.seeds}." if args.seeds
                                                          else "."))
    table = per_task_table(rows, args.systems)
    if table.empty:
        raise SystemExit("No task has a result for every system yet.")
    systems = [s for s in SYSTEMS if s in set(table["system"])]
    if REFERENCE not in systems:
        raise SystemExit(f"The normalised score needs the {REFERENCE} runs.")
    info_path = args.out / "run.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    pd.DataFrame(rows).to_csv(args.out / "results.csv", index=False)
    table.drop(columns=["oriented"]).to_csv(args.out / "per_task.csv", index=False)
    text = summary_text(table, systems, info, rows)
    (args.out / "summary.md").write_text(text)
    plot(table, systems, args.out / "normalised.png")
    if args.readme:
        put_in_readme(args.readme, text)
    print(text)


# -- command line -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the systems on the tasks (resumable)")
    r.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "datasets")
    r.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(DEFAULT_SYSTEMS))
    r.add_argument("--tasks", type=int, default=30, help="number of tasks chosen (a third "
                   "binary, multiclass, regression; one per group)")
    r.add_argument("--only", nargs="+", metavar="NAME", help="these tasks instead")
    r.add_argument("--max-rows", type=int, help="choose only among tasks this small")
    r.add_argument("--select-seed", type=int, default=0, help="seed of the task choice")
    r.add_argument("--seeds", type=int, nargs="+", default=[0])
    r.add_argument("--budget", type=float, default=60, help="wall-clock seconds per fit")
    r.add_argument("--n-jobs", type=int, default=2, help="cores per system")
    r.add_argument("--no-loo", action="store_true", help="autometa with the shipped "
                   "portfolio, which was learned on these tasks (LEAKS; system autometa-noloo)")
    r.add_argument("--retry-failed", action="store_true")
    r.add_argument("--dry-run", action="store_true", help="list the tasks and stop")
    r.add_argument("--out", type=Path, default=OUT)
    r.add_argument("--reuse", type=Path, metavar="FROM", help="start with the rows of the "
                   "systems not being run from this results directory (same budget and "
                   "cores), e.g. the peers' rows when only autometa is run again")
    s = sub.add_parser("summarize", help="write results.csv, per_task.csv, summary.md and "
                       "normalised.png")
    s.add_argument("--out", type=Path, default=OUT)
    s.add_argument("--systems", nargs="+", choices=SYSTEMS)
    s.add_argument("--seeds", type=int, nargs="+", help="only the runs of these seeds (e.g. "
                   "the seeds every system ran with)")
    s.add_argument("--readme", type=Path, help="also put the summary in this file, between "
                   f"{README_START} and {README_END}")
    args = parser.parse_args()
    args.out = args.out.resolve()
    if args.command == "run":
        run(args)
    else:
        summarize(args)


if __name__ == "__main__":
    main()
