"""The ``autometa`` command line: thin shells over the library.

Errors a person can fix (files, columns, options, data) are printed as one line,
``autometa: error: ...``, with exit code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import warnings
from pathlib import Path

import pandas as pd

from autometa import __version__
from autometa import io as files

EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
LEADERBOARD_COLUMNS = ["rank", "trial", "family", "origin", "status", "score", "fit_time",
                       "wall_time", "ensemble_weight", "error"]


class CommandError(ValueError):
    """A problem with what the user asked for; printed as one line, exit code 2."""


def _say(message: str) -> None:
    print(f"autometa: {message}", file=sys.stderr, flush=True)


# -- fit ---------------------------------------------------------------------------------------


def _fit(args: argparse.Namespace) -> int:
    _check_output_dir(args.output)
    X, y = _training_data(args.data, args.target)
    guess = _task(y, args.task)
    print(f"task: {guess.task} ({guess.reason})", flush=True)
    estimator = _estimator(guess.task, args)
    meta = {"target": args.target, "task": guess.task, "task_reason": guess.reason,
            "data_file": str(args.data), "columns": [str(c) for c in X.columns]}
    try:
        estimator.fit(X, y)
    except KeyboardInterrupt:
        return _interrupted(estimator, args.output, meta)
    _print_fit_summary(estimator)
    if args.output:
        files.save_model(args.output, estimator, **meta)
        print(f"saved the model to {args.output}")
    if args.report:
        _write_report(estimator, args.report)
    return 0


def _check_output_dir(output: str | None) -> None:
    if output and not Path(output).resolve().parent.is_dir():
        raise CommandError(f"cannot save to {output}: folder {Path(output).parent} does not exist.")


def _training_data(path: str, target: str) -> tuple[pd.DataFrame, pd.Series]:
    X, y = files.split_target(files.read_table(path), target)
    missing = y.isna().to_numpy()
    if missing.any():
        _say(f"note: dropping {int(missing.sum())} rows whose target {target!r} is missing.")
        X, y = X[~missing].reset_index(drop=True), y[~missing].reset_index(drop=True)
    files.check_learnable(y, target)
    return X, y


def _task(y: pd.Series, requested: str) -> files.TaskGuess:
    if requested != "auto":
        return files.TaskGuess(requested, "given with --task")
    return files.infer_task(y)


def _estimator(task: str, args: argparse.Namespace):
    from autometa import AutoMetaClassifier, AutoMetaRegressor

    cls = AutoMetaClassifier if task == "classification" else AutoMetaRegressor
    return cls(time_budget=args.time_budget, metric=args.metric, max_evals=args.max_evals,
               n_jobs=args.n_jobs, include=args.include, exclude=args.exclude,
               random_state=args.seed, verbose=0 if args.quiet else 1)


def _print_fit_summary(estimator) -> None:
    trials = estimator.trials_
    failed = sum(not t.ok for t in trials)
    best = min((t for t in trials if t.ok), key=lambda t: t.loss)
    members = len(estimator.ensemble_.members)
    print(f"best validation {estimator.metric_.name}: {-best.loss:.5g} "
          f"({best.family}, trial {best.id})")
    print(f"{len(trials)} trials ({failed} failed) in {estimator.fit_time_:.1f} s of a "
          f"{estimator.time_budget:g} s budget; ensemble of {members} "
          f"pipeline{'s' if members != 1 else ''}")


def _interrupted(estimator, output: str | None, meta: dict) -> int:
    if output is None:
        _say("interrupted; nothing was saved (no -o/--output given).")
    elif hasattr(estimator, "ensemble_"):
        files.save_model(output, estimator, **meta, interrupted=True)
        _say(f"interrupted; saved the best model found so far to {output}.")
    else:
        _say("interrupted before a usable model was ready; nothing was saved.")
    return EXIT_INTERRUPTED


def _write_report(estimator, directory: str) -> None:
    from autometa.report import write_report

    report = write_report(estimator, directory)
    print(f"wrote {report.json_path}")
    for plot in report.plots:
        print(f"wrote {plot}")
    if report.plots_skipped:
        _say(f"no plots: {report.plots_skipped}")


# -- predict, leaderboard, info, report ---------------------------------------------------------


def _predict(args: argparse.Namespace) -> int:
    if args.output:
        files.file_format(args.output)  # refuse an unsupported extension before predicting
    bundle = files.load_model(args.model)
    estimator, target = bundle["estimator"], bundle.get("target")
    frame = files.read_table(args.data)
    X = files.prediction_features(frame, estimator, target, args.data)
    extra = [str(c) for c in frame.columns if c not in set(X.columns) and c != target]
    if extra:
        _say(f"note: ignoring {len(extra)} column(s) not seen at fit time: {', '.join(extra)}.")
    if args.proba:
        if not hasattr(estimator, "predict_proba"):
            raise CommandError("--proba needs a classification model; this one is a regressor.")
        classes = [str(c) for c in estimator.classes_]
        out = pd.DataFrame(estimator.predict_proba(X), columns=[f"proba_{c}" for c in classes])
    else:
        out = pd.DataFrame({target or "prediction": estimator.predict(X)})
    if args.output:
        files.write_table(out, args.output)
        _say(f"wrote {len(out)} predictions to {args.output}")
    else:
        out.to_csv(sys.stdout, index=False)
    return 0


def _leaderboard(args: argparse.Namespace) -> int:
    board = files.load_model(args.model)["estimator"].leaderboard()
    if args.top:
        board = board.head(args.top)
    if args.format == "csv":
        board = board.assign(config=board["config"].map(json.dumps))
        board.to_csv(sys.stdout, index=False)
        return 0
    errors = board["error"].map(lambda e: textwrap.shorten(str(e), 50, placeholder="...")
                                if e else "")
    board = board[LEADERBOARD_COLUMNS].assign(error=errors)
    print(board.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.5g}"))
    return 0


def _info(args: argparse.Namespace) -> int:
    from autometa.report import info_dict, info_text

    info = info_dict(files.load_model(args.model), args.model)
    print(json.dumps(info, indent=2) if args.json else info_text(info))
    return 0


def _report(args: argparse.Namespace) -> int:
    _write_report(files.load_model(args.model)["estimator"], args.directory)
    return 0


def _metafeatures(args: argparse.Namespace) -> int:
    from autometa import data as tabular
    from autometa import metafeatures

    X, y = _training_data(args.data, args.target)
    task = _task(y, args.task).task
    schema = tabular.learn_schema(X)
    target = tabular.check_target(y, len(X), task, "autometa metafeatures")
    values = metafeatures.compute(schema.transform(X), target.y, task,
                                  categorical=schema.categorical_names, seed=args.seed)
    print(json.dumps(files.jsonable(values), indent=2, sort_keys=True))
    return 0


def _portfolio_build(args: argparse.Namespace) -> int:
    from autometa.metalearning.build import Fidelity, build_metadata
    from autometa.metalearning.corpus import load_corpus

    tasks = load_corpus(args.corpus, None if args.task == "all" else args.task)
    if args.only:
        tasks = [t for t in tasks if t.name in set(args.only)]
    fidelity = Fidelity(max_rows=args.max_rows, search_trials=args.search_trials)
    build_metadata(tasks, Path(args.out) / "metadata", n_workers=args.n_jobs,
                   fidelity=fidelity, phases=tuple(args.phases))
    return 0


# -- parser ------------------------------------------------------------------------------------


def _positive_float(text: str) -> float:
    if not float(text) > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return float(text)


def _positive_int(text: str) -> int:
    if int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return int(text)


def _families(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _add_fit(commands, common: argparse.ArgumentParser) -> None:
    fit = commands.add_parser(
        "fit", parents=[common], help="search pipelines for a table and save the best ensemble",
        description="Fit AutoMetaClassifier or AutoMetaRegressor on a CSV, TSV or Parquet "
        "file. The task is inferred from the target column unless --task is given: a "
        "non-numeric target, or one of at most 10 distinct integer values, means "
        "classification; other numbers mean regression. Rows with a missing target are "
        "dropped. Progress is shown on stderr. Ctrl-C stops the search; with -o the best "
        "model found so far is saved if one is ready.")
    fit.add_argument("data", metavar="DATA", help="training data (.csv, .tsv or .parquet)")
    fit.add_argument("--target", required=True, metavar="COL", help="name of the target column")
    fit.add_argument("--task", choices=["auto", "classification", "regression"], default="auto",
                     help="the learning task (default: infer it from the target)")
    fit.add_argument("--time-budget", type=_positive_float, default=60.0, metavar="S",
                     help="seconds for the whole fit (default: 60)")
    fit.add_argument("--metric", metavar="M", help="scikit-learn scorer name, e.g. roc_auc, "
                     "neg_log_loss, balanced_accuracy, r2 (default: roc_auc for binary, "
                     "neg_log_loss for multiclass, neg_root_mean_squared_error for regression)")
    fit.add_argument("--max-evals", type=_positive_int, metavar="N",
                     help="stop after N trials (default: no limit)")
    fit.add_argument("--include", type=_families, metavar="F1,F2", help="only these model "
                     "families, e.g. lightgbm,linear")
    fit.add_argument("--exclude", type=_families, metavar="F1,F2",
                     help="leave these model families out")
    fit.add_argument("--n-jobs", type=int, default=1, metavar="N",
                     help="trials run in parallel; -1 means one per CPU (default: 1)")
    fit.add_argument("--seed", type=int, metavar="N", help="random seed (default: random)")
    fit.add_argument("-o", "--output", metavar="MODEL",
                     help="save the fitted model here with joblib, e.g. model.joblib")
    fit.add_argument("--report", metavar="DIR",
                     help="write report.json and PNG plots (needs matplotlib) into DIR")
    fit.add_argument("--quiet", action="store_true",
                     help="no progress display (the final summary is still printed)")
    fit.set_defaults(handler=_fit)


def _add_model_commands(commands, common: argparse.ArgumentParser) -> None:
    model_help = "model file written by `autometa fit -o` (load only files you trust)"
    predict = commands.add_parser(
        "predict", parents=[common], help="predict for every row of a table",
        description="Predict one row per input row, in input order, as CSV (to stdout unless "
        "-o is given). The target column is dropped if DATA still has it. Labels or values go "
        "in a column named after the target; --proba gives one proba_<class> column per class.")
    predict.add_argument("model", metavar="MODEL", help=model_help)
    predict.add_argument("data", metavar="DATA", help="rows to predict (.csv, .tsv or .parquet)")
    predict.add_argument("-o", "--output", metavar="FILE",
                         help="write predictions here (.csv, .tsv or .parquet)")
    predict.add_argument("--proba", action="store_true",
                         help="class probabilities instead of labels (classification only)")
    predict.set_defaults(handler=_predict)
    board = commands.add_parser("leaderboard", parents=[common], help="every trial, best first",
                                description="Print every evaluated pipeline, best first.")
    board.add_argument("model", metavar="MODEL", help=model_help)
    board.add_argument("--top", type=_positive_int, metavar="N", help="only the N best rows")
    board.add_argument("--format", choices=["table", "csv"], default="table",
                       help="a readable table, or CSV with each configuration as JSON")
    board.set_defaults(handler=_leaderboard)
    info = commands.add_parser(
        "info", parents=[common], help="what a model is and how it was fitted",
        description="Task, target, metric, budget and fit time, trials and failures, ensemble "
        "members and weights, meta-features (if any) and library versions.")
    info.add_argument("model", metavar="MODEL", help=model_help)
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.set_defaults(handler=_info)
    report = commands.add_parser(
        "report", parents=[common], help="write report.json and plots for a saved model",
        description="Write report.json and PNG plots (with matplotlib installed) into DIR.")
    report.add_argument("model", metavar="MODEL", help=model_help)
    report.add_argument("directory", metavar="DIR", help="folder for the report")
    report.set_defaults(handler=_report)


def _add_metafeatures(commands, common: argparse.ArgumentParser) -> None:
    meta = commands.add_parser(
        "metafeatures", parents=[common], help="dataset meta-features as JSON",
        description="Compute the meta-features autometa uses to describe a dataset and print "
        "them as JSON.")
    meta.add_argument("data", metavar="DATA", help="data file (.csv, .tsv or .parquet)")
    meta.add_argument("--target", required=True, metavar="COL", help="name of the target column")
    meta.add_argument("--task", choices=["auto", "classification", "regression"],
                      default="auto", help="the learning task (default: infer it)")
    meta.add_argument("--seed", type=int, default=0, metavar="N",
                      help="seed for subsampled meta-features (default: 0)")
    meta.set_defaults(handler=_metafeatures)


def _add_portfolio(commands, common: argparse.ArgumentParser) -> None:
    portfolio = commands.add_parser("portfolio", help="build the meta-learned portfolio")
    pcommands = portfolio.add_subparsers(dest="portfolio_command", required=True)
    build = pcommands.add_parser("build", parents=[common],
                                 help="run (or continue) the meta-dataset build")
    build.add_argument("--corpus", required=True, help="folder with manifest.json and data/")
    build.add_argument("--out", default="portfolios", help="portfolio folder")
    build.add_argument("--task", choices=["all", "classification", "regression"], default="all")
    build.add_argument("--only", nargs="*", help="restrict to these task names")
    build.add_argument("--n-jobs", type=int, default=2)
    build.add_argument("--max-rows", type=int, default=1500)
    build.add_argument("--search-trials", type=int, default=24)
    build.add_argument("--phases", nargs="+", default=["search", "matrix"],
                       choices=["search", "matrix"])
    build.set_defaults(handler=_portfolio_build)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``autometa`` command, with all its subcommands."""
    parser = argparse.ArgumentParser(
        prog="autometa", description="Meta-learned AutoML for tabular data. Run "
        "`autometa COMMAND --help` for the options of a command.")
    parser.add_argument("--version", action="version", version=f"autometa {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true",
                        help="show the full traceback when something goes wrong")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_fit(commands, common)
    _add_model_commands(commands, common)
    _add_metafeatures(commands, common)
    _add_portfolio(commands, common)
    return parser


# -- entry point -------------------------------------------------------------------------------


def _format_warning(message, category, filename, lineno, line=None) -> str:
    return f"autometa: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    """Run the ``autometa`` command line; return the exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for errors the user can fix, 1 for other failures and 130
        when interrupted.
    """
    args = build_parser().parse_args(argv)
    previous, warnings.formatwarning = warnings.formatwarning, _format_warning
    try:
        return _run(args)
    finally:
        warnings.formatwarning = previous  # matters when main() runs in-process


def _run(args: argparse.Namespace) -> int:
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        _say("interrupted.")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `autometa predict m.joblib big.csv | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except Exception as exc:
        if args.debug:
            raise
        return _report_error(exc)


def _report_error(exc: Exception) -> int:
    message = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, ValueError):
        _say(f"error: {message}")
        return EXIT_USAGE
    _say(f"error: {type(exc).__name__}: {message} (run with --debug for the traceback)")
    return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
