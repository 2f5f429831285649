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

import autometa
from autometa import io as files
from autometa.cli_experience import add_experience, where_help
from autometa.cli_fit import (
    EXIT_INTERRUPTED,
    CommandError,
    FitFailed,
    run_fit,
    say,
    task,
    temperature_note,
    threshold_note,
    training_data,
    write_report_files,
)
from autometa.cli_importance import run_importance
from autometa.task import TASK_TYPES

EXIT_FAILURE, EXIT_USAGE = 1, 2
LEADERBOARD_COLUMNS = ["rank", "trial", "family", "origin", "status", "score", "score_std",
                       "fidelity", "trees", "promoted",
                       "fit_time", "predict_time", "wall_time", "ensemble_weight", "error"]


# -- predict, leaderboard, info, report ---------------------------------------------------------


def _predict(args: argparse.Namespace) -> int:
    if args.output:
        files.file_format(args.output)  # refuse an unsupported extension before predicting
    bundle = files.load_model(args.model)
    estimator, target = bundle["estimator"], bundle.get("target")
    frame = files.read_table(args.data)
    X = files.prediction_features(frame, estimator, target, args.data)
    known = {target, bundle.get("weight_column")}
    extra = [str(c) for c in frame.columns if c not in set(X.columns) and c not in known]
    if extra:
        say(f"note: ignoring {len(extra)} column(s) not seen at fit time: {', '.join(extra)}.")
    if args.proba:
        if not hasattr(estimator, "predict_proba"):
            raise CommandError("--proba needs a classification model; this one is a regressor.")
        classes = [str(c) for c in estimator.classes_]
        out = pd.DataFrame(estimator.predict_proba(X), columns=[f"proba_{c}" for c in classes])
    else:
        out = pd.DataFrame({target or "prediction": estimator.predict(X)})
    if args.output:
        files.write_table(out, args.output)
        say(f"wrote {len(out)} predictions to {args.output}")
    else:
        out.to_csv(sys.stdout, index=False)
    return 0


def _leaderboard(args: argparse.Namespace) -> int:
    estimator = files.load_model(args.model)["estimator"]
    board = estimator.leaderboard()
    if args.top:
        board = board.head(args.top)
    if args.format == "csv":
        board = board.assign(config=board["config"].map(json.dumps))
        board.to_csv(sys.stdout, index=False)
        return 0
    errors = board["error"].map(lambda e: textwrap.shorten(str(e), 50, placeholder="...")
                                if e else "")
    shown = [c for c in board.columns if c in LEADERBOARD_COLUMNS or c == "target_transform"]
    board = board[shown].assign(error=errors)
    print(board.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.5g}"))
    notes = [n for n in (temperature_note(estimator), threshold_note(estimator)) if n]
    if notes:
        print("\n" + "\n".join(f"ensemble {n}" for n in notes))
    return 0


def _info(args: argparse.Namespace) -> int:
    from autometa.report import info_dict, info_text

    info = info_dict(files.load_model(args.model), args.model)
    print(json.dumps(info, indent=2) if args.json else info_text(info))
    return 0


def _report(args: argparse.Namespace) -> int:
    write_report_files(files.load_model(args.model)["estimator"], args.directory)
    return 0


def _metafeatures(args: argparse.Namespace) -> int:
    from autometa import metafeatures

    X, y, _ = training_data(args.data, args.target)
    values = metafeatures.of_table(X, y, task(y, args.task).task, seed=args.seed)
    print(json.dumps(files.jsonable(values), indent=2, sort_keys=True))
    return 0


def _portfolio_build(args: argparse.Namespace) -> int:
    from autometa.metalearning.build import N_CANDIDATES, Fidelity, build_metadata
    from autometa.metalearning.corpus import load_corpus

    tasks = load_corpus(args.corpus, None if args.task == "all" else args.task)
    if args.only:
        tasks = [t for t in tasks if t.name in set(args.only)]
    fidelity = Fidelity(max_rows=args.max_rows, search_trials=args.search_trials)
    metadata = Path(args.out) / "metadata"
    running = [p for p in args.phases if p != "assemble"]
    if running:
        build_metadata(tasks, metadata, n_workers=args.n_jobs, fidelity=fidelity,
                       phases=tuple(running), n_candidates=args.candidates or N_CANDIDATES)
    if "assemble" in args.phases:
        from autometa.metalearning.assemble import write_portfolios
        from autometa.metalearning.transfer_build import write_transfer

        write_portfolios(tasks, metadata, Path(args.out), corpus=Path(args.corpus).name)
        write_transfer(tasks, metadata, Path(args.out), corpus=Path(args.corpus).name)
    return 0


# -- parser ------------------------------------------------------------------------------------


def _number(text: str, kind: type) -> float | int:
    try:
        return kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None


def _positive_float(text: str) -> float:
    value = _number(text, float)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _positive_int(text: str) -> int:
    if _number(text, int) < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return int(text)


def _n_jobs(text: str) -> int:
    if _number(text, int) == 0:
        raise argparse.ArgumentTypeError("must be at least 1, or negative (-1: one per CPU)")
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
        "dropped. Progress is shown on stderr. Ctrl-C ends the search early: the model is "
        "built from the trials so far, saved with -o and reported with --report, and the "
        "exit code is 130; a second Ctrl-C quits at once without saving.")
    fit.add_argument("data", metavar="DATA", help="training data (.csv, .tsv or .parquet)")
    fit.add_argument("--target", required=True, metavar="COL", help="name of the target column")
    fit.add_argument("--task", choices=["auto", *TASK_TYPES], default="auto",
                     help="the learning task (default: infer it from the target)")
    fit.add_argument("--weight-column", metavar="COL", help="column of non-negative row "
                     "weights (sample_weight): not a feature; rows of weight 0 are left out of "
                     "training; the knn family is not searched")
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
    fit.add_argument("--n-jobs", type=_n_jobs, default=1, metavar="N",
                     help="trials run in parallel; -1 means one per CPU (default: 1)")
    fit.add_argument("--infer-limit", type=_positive_float, metavar="S",
                     help="most seconds per row a prediction may take (e.g. 1e-5); the "
                     "ensemble keeps only pipelines fast enough together")
    fit.add_argument("--infer-limit-batch-size", type=_positive_int, metavar="N",
                     help="rows of the batch prediction time is measured on (default 1000)")
    fit.add_argument("--fidelity", choices=["auto", "full", "successive_halving", "hyperband"],
                     default="auto", help="run trials on subsets of the rows first and "
                     "promote the best (default: auto, when trials are expensive)")
    fit.add_argument("--proxy-subsets", choices=["boundary", "random"], default="random",
                     help="rows of the subsets: stratified random, or half of them where a "
                     "cheap model is least sure (default: random)")
    fit.add_argument("--surrogate", choices=["auto", "rf", "rgpe"], default="auto",
                     help="SMAC's model of the losses: its random forest, or rgpe (forests of "
                     "the most similar corpus tasks and stored fits, weighted by how well "
                     "they rank this task's trials); default: auto (rf)")
    fit.add_argument("--target-transform", choices=["auto", "none"], default="none",
                     help="regression: let the search also try log1p and Yeo-Johnson "
                     "transformations of the target (auto), or fit the raw target (none, "
                     "the default)")
    fit.add_argument("--seed", type=int, metavar="N", help="random seed (default: random)")
    fit.add_argument("-o", "--output", metavar="MODEL",
                     help="save the fitted model here with joblib, e.g. model.joblib")
    fit.add_argument("--report", metavar="DIR",
                     help="write report.json and PNG plots (needs matplotlib) into DIR")
    fit.add_argument("--experience", metavar="PATH", help="an experience store (SQLite file: "
                     "a path or sqlite:///path) to record this fit in and start from; "
                     f"{where_help()}; see `autometa experience --help`")
    fit.add_argument("--experience-tag", metavar="TAG", help="a label for this fit's record "
                     "in the experience store, e.g. the dataset's name")
    fit.add_argument("--quiet", action="store_true",
                     help="no progress display (the final summary is still printed)")
    fit.set_defaults(handler=run_fit)


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
    _add_importance(commands, common, model_help)


def _add_importance(commands, common: argparse.ArgumentParser, model_help: str) -> None:
    importance = commands.add_parser(
        "importance", parents=[common], help="how much each feature matters to a model",
        description="Permutation importance: shuffle each feature of DATA in turn and print how "
        "much the model's metric drops (greater means more important), most important first. "
        "Use rows the model was not fitted on to see what generalises.")
    importance.add_argument("model", metavar="MODEL", help=model_help)
    importance.add_argument("data", metavar="DATA", help="rows with the target (.csv, .tsv or "
                            ".parquet)")
    importance.add_argument("--target", metavar="COL", help="name of the target column "
                            "(default: the one the model was fitted on)")
    importance.add_argument("--repeats", type=_positive_int, default=5, metavar="N",
                            help="shuffles per feature (default: 5)")
    importance.add_argument("--seed", type=int, metavar="N", help="seed of the shuffles")
    importance.add_argument("-o", "--output", metavar="FILE", help="write the table, with every "
                            "repeat, here (.csv, .tsv or .parquet)")
    importance.add_argument("--plot", metavar="PNG", help="draw a bar chart here (needs "
                            "matplotlib)")
    importance.set_defaults(handler=run_importance)


def _add_metafeatures(commands, common: argparse.ArgumentParser) -> None:
    meta = commands.add_parser(
        "metafeatures", parents=[common], help="dataset meta-features as JSON",
        description="Compute the meta-features autometa uses to describe a dataset and print "
        "them as JSON.")
    meta.add_argument("data", metavar="DATA", help="data file (.csv, .tsv or .parquet)")
    meta.add_argument("--target", required=True, metavar="COL", help="name of the target column")
    meta.add_argument("--task", choices=["auto", *TASK_TYPES],
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
    build.add_argument("--task", choices=["all", *TASK_TYPES], default="all")
    build.add_argument("--only", nargs="*", help="restrict to these task names")
    build.add_argument("--n-jobs", type=int, default=2)
    build.add_argument("--max-rows", type=int, default=1500)
    build.add_argument("--search-trials", type=int, default=32)
    build.add_argument("--candidates", type=int, metavar="N",
                       help="candidate configurations per task type (default: as many as the "
                       "shipped portfolios); a larger N than an earlier build adds candidates "
                       "and the matrix phase evaluates only the new cells")
    build.add_argument("--phases", nargs="+", default=["search", "matrix", "assemble"],
                       choices=["search", "matrix", "repair", "assemble"],
                       help="search: SMAC on each task; matrix: every candidate on every "
                       "task; repair (only when named): evaluate again, once, the search "
                       "trials that ended in an error; assemble: write the <task "
                       "type>.json portfolios, the transfer_<task type>.json.gz sources and "
                       "the hp-learners from the results")
    build.set_defaults(handler=_portfolio_build)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``autometa`` command, with all its subcommands."""
    parser = argparse.ArgumentParser(
        prog="autometa", description="Meta-learned AutoML for tabular data. Run "
        "`autometa COMMAND --help` for the options of a command.",
        epilog="Exit codes: 0 done; 2 a problem you can fix (file, column, option, data), "
        "printed as one line (--debug shows the traceback); 1 another failure; 130 "
        "interrupted.")
    parser.add_argument("--version", action="version", version=f"autometa {autometa.__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true",
                        help="show the full traceback when something goes wrong")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_fit(commands, common)
    _add_model_commands(commands, common)
    _add_metafeatures(commands, common)
    _add_portfolio(commands, common)
    add_experience(commands, common)
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
        say("interrupted.")
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
    if isinstance(exc, (ValueError, FileNotFoundError, NotADirectoryError)):
        say(f"error: {message}")
        return EXIT_USAGE
    if isinstance(exc, FitFailed):
        say(f"error: {message}")
        return EXIT_FAILURE
    say(f"error: {type(exc).__name__}: {message} (run with --debug for the traceback)")
    return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
