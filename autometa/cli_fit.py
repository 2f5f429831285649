"""``autometa fit``: read a table, fit, save the model and the report; shared CLI helpers.

Ctrl-C during the search ends it early (as in the library): the model is the best
pipeline so far, saved with ``-o`` and reported with ``--report``, and the command exits
with code 130. A second Ctrl-C quits at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from autometa import io as files
from autometa.task import CLASSIFICATION

EXIT_INTERRUPTED = 130


class CommandError(ValueError):
    """A problem with what the user asked for; printed as one line, exit code 2."""


class FitFailed(RuntimeError):
    """The search found no usable pipeline; printed as one line, exit code 1."""


def say(message: str) -> None:
    """Print ``autometa: message`` on stderr."""
    print(f"autometa: {message}", file=sys.stderr, flush=True)


def training_data(path: str, target: str, weight: str | None = None
                  ) -> tuple[pd.DataFrame, pd.Series, pd.Series | None]:
    """Features, target and row weights (``None`` without a ``weight`` column) from a data
    file; rows with a missing target are dropped."""
    frame = files.read_table(path)
    weights = None
    if weight is not None:
        frame, weights = weight_column(frame, weight, target)
    X, y = files.split_target(frame, target)
    missing = y.isna().to_numpy()
    if missing.any():
        say(f"note: dropping {int(missing.sum())} rows whose target {target!r} is missing.")
        X, y = X[~missing].reset_index(drop=True), y[~missing].reset_index(drop=True)
        if weights is not None:
            weights = weights[~missing].reset_index(drop=True)
    files.check_learnable(y, target)
    return X, y, weights


def weight_column(frame: pd.DataFrame, weight: str, target: str
                  ) -> tuple[pd.DataFrame, pd.Series]:
    """The table without its column of row weights, and that column (checked)."""
    if weight == target:
        raise CommandError(f"--weight-column {weight!r} is the target column; give the "
                           "column of row weights.")
    if weight not in frame.columns:
        raise CommandError(files.unknown_column(frame, weight, "weight"))
    values = pd.to_numeric(frame[weight], errors="coerce")
    bad = values.isna() & frame[weight].notna()
    if bad.any():
        raise CommandError(f"weight column {weight!r} must hold numbers, but holds "
                           f"{frame[weight][bad].iloc[0]!r}.")
    if values.isna().any():
        raise CommandError(f"weight column {weight!r} has {int(values.isna().sum())} missing "
                           "value(s); fill them in (0 leaves a row out) or drop those rows.")
    return frame.drop(columns=[weight]), values


def task(y: pd.Series, requested: str) -> files.TaskGuess:
    """The task given with ``--task``, or the one inferred from the target."""
    if requested != "auto":
        return files.TaskGuess(requested, "given with --task")
    return files.infer_task(y)


def run_fit(args: argparse.Namespace) -> int:
    """The ``fit`` command; returns the exit code."""
    check_destinations(args.output, args.report)
    X, y, weights = training_data(args.data, args.target, args.weight_column)
    guess = task(y, args.task)
    print(f"task: {guess.task} ({guess.reason})", flush=True)
    estimator = _estimator(guess.task, args)
    meta = {"target": args.target, "task": guess.task, "task_reason": guess.reason,
            "data_file": str(args.data), "columns": [str(c) for c in X.columns],
            "weight_column": args.weight_column}
    try:
        _fit(estimator, X, y, weights)
    except KeyboardInterrupt:
        say("interrupted before a usable model was ready; nothing was saved.")
        return EXIT_INTERRUPTED
    _print_fit_summary(estimator)
    if args.output:
        files.save_model(args.output, estimator, **meta, interrupted=estimator.interrupted_)
        print(f"saved the model to {args.output}")
    if args.report:
        write_report_files(estimator, args.report)
    if not estimator.interrupted_:
        return 0
    where = f"saved it to {args.output}" if args.output else "nothing saved (no -o/--output)"
    say(f"interrupted after {len(estimator.trials_)} trials; best model found so far: "
        f"{where}.")
    return EXIT_INTERRUPTED


def check_destinations(output: str | None, report: str | None) -> None:
    """Refuse, before a long fit, a model file or report folder that cannot be written."""
    if output:
        folder = Path(output).resolve().parent
        if not folder.is_dir():
            raise CommandError(f"cannot save to {output}: folder {Path(output).parent} "
                               "does not exist.")
        if Path(output).is_dir():
            raise CommandError(f"cannot save to {output}: it is a folder; give a file name "
                               "such as model.joblib.")
    if report and Path(report).exists() and not Path(report).is_dir():
        raise CommandError(f"cannot write the report into {report}: it is a file, not a folder.")


def _estimator(task_name: str, args: argparse.Namespace):
    from autometa import AutoMetaClassifier, AutoMetaRegressor

    regression = task_name != CLASSIFICATION
    cls = AutoMetaRegressor if regression else AutoMetaClassifier
    extra = {"target_transform": args.target_transform} if regression else {}
    return cls(time_budget=args.time_budget, metric=args.metric, max_evals=args.max_evals,
               n_jobs=args.n_jobs, include=args.include, exclude=args.exclude,
               infer_limit=args.infer_limit, infer_limit_batch_size=args.infer_limit_batch_size,
               random_state=args.seed, verbose=0 if args.quiet else 1,
               experience=args.experience, experience_tag=args.experience_tag,
               fidelity=args.fidelity, proxy_subsets=args.proxy_subsets,
               surrogate=args.surrogate, **extra)


def _fit(estimator, X: pd.DataFrame, y: pd.Series, weights: pd.Series | None = None) -> None:
    from autometa.errors import NoSuccessfulTrial

    try:
        estimator.fit(X, y, **({} if weights is None else {"sample_weight": weights}))
    except NoSuccessfulTrial as exc:  # say it in the command's terms
        raise FitFailed(exc.describe(budget="--time-budget ", trial_limit=None)) from exc


def _print_fit_summary(estimator) -> None:
    trials = estimator.trials_
    failed = sum(t.failed for t in trials)
    from_portfolio = sum(t.origin == "portfolio" for t in trials)
    from_experience = sum(t.origin == "experience" for t in trials)
    experience = f", {from_experience} from experience" if from_experience else ""
    best = min((t for t in trials if t.ok), key=lambda t: t.loss)
    members = len(estimator.ensemble_.members)
    print(f"best validation {estimator.metric_.name}: {-best.loss:.5g} "
          f"({best.family}, trial {best.id}, {best.origin})")
    print(f"{len(trials)} trials ({failed} failed, {from_portfolio} from the portfolio"
          f"{experience}) in "
          f"{estimator.fit_time_:.1f} s of a {estimator.time_budget:g} s budget; ensemble of "
          f"{members} pipeline{'s' if members != 1 else ''}")
    if estimator.predict_latency_ is not None:
        print(f"predicts {1e6 * estimator.predict_latency_:.3g} ms per 1,000 rows")
    for note in (temperature_note(estimator), threshold_note(estimator)):
        if note:
            print(note)


def threshold_note(estimator) -> str | None:
    """The line that tells of a tuned decision threshold (none for 0.5 or no threshold)."""
    from autometa.report import threshold_text
    from autometa.threshold import DEFAULT_THRESHOLD

    threshold = getattr(estimator, "threshold_", None)
    if threshold is None or threshold == DEFAULT_THRESHOLD:
        return None
    text = threshold_text(threshold, list(estimator.classes_), estimator.metric_.name)
    return f"decision threshold: {text}"


def temperature_note(estimator) -> str | None:
    """The line that tells of temperature-scaled probabilities (none for 1 or none)."""
    from autometa.report import temperature_text

    temperature = getattr(estimator, "temperature_", None)
    if temperature is None or temperature == 1.0:
        return None
    return f"temperature: {temperature_text(temperature, estimator.metric_.name)}"


def write_report_files(estimator, directory: str) -> None:
    """Write the report of a fitted estimator and list the files written."""
    from autometa.report import write_report

    report = write_report(estimator, directory)
    print(f"wrote {report.json_path}")
    for plot in report.plots:
        print(f"wrote {plot}")
    if report.plots_skipped:
        say(f"no plots: {report.plots_skipped}")
