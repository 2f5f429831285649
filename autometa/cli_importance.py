"""``autometa importance``: permutation importance of a saved model's features on a table.

Prints the features, most important first (or writes them, with every repeat, to CSV,
TSV or Parquet) and draws a bar chart with ``--plot``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from autometa import io as files
from autometa.cli_fit import CommandError, say

SHOWN_COLUMNS = ["feature", "importance_mean", "importance_std"]


def run_importance(args: argparse.Namespace) -> int:
    """The ``importance`` command; returns the exit code."""
    check_outputs(args.output, args.plot)
    bundle = files.load_model(args.model)
    estimator = bundle["estimator"]
    target = args.target or bundle.get("target")
    if not target:
        raise CommandError(f"{args.model} does not name its target column; give it with "
                           "--target COL.")
    X, y = labelled_rows(args.data, target)
    X = files.prediction_features(X, estimator, None, args.data)
    say(f"shuffling each of {X.shape[1]} features {args.repeats} times on {len(X)} rows "
        f"(metric: {estimator.metric_.name}) ...")
    frame = estimator.feature_importance(X, y, n_repeats=args.repeats, random_state=args.seed)
    print(frame[SHOWN_COLUMNS].to_string(index=False, float_format=lambda v: f"{v:.5g}"))
    if args.output:
        files.write_table(with_repeats(frame), args.output)
        say(f"wrote the importance of {len(frame)} features to {args.output}")
    if args.plot:
        from autometa.plots import plot_importance

        say(f"wrote {plot_importance(frame, args.plot, metric=estimator.metric_.name)}")
    return 0


def check_outputs(output: str | None, plot: str | None) -> None:
    """Refuse, before the work, an output of an unknown type or a plot without matplotlib."""
    if output:
        files.file_format(output)
    if not plot:
        return
    if not Path(plot).resolve().parent.is_dir():
        raise CommandError(f"cannot write the plot to {plot}: folder {Path(plot).parent} "
                           "does not exist.")
    try:
        import matplotlib  # noqa: F401  (optional extra)
    except ImportError:
        raise CommandError('--plot needs matplotlib: pip install "autometa[plots]"') from None


def labelled_rows(path: str, target: str) -> tuple[pd.DataFrame, pd.Series]:
    """Features and target from a data file; rows with a missing target are dropped."""
    X, y = files.split_target(files.read_table(path), target)
    missing = y.isna().to_numpy()
    if missing.all():
        raise CommandError(f"{path}: the target column {target!r} has only missing values.")
    if missing.any():
        say(f"note: dropping {int(missing.sum())} rows whose target {target!r} is missing.")
        X, y = X[~missing].reset_index(drop=True), y[~missing].reset_index(drop=True)
    return X, y


def with_repeats(frame: pd.DataFrame) -> pd.DataFrame:
    """The importance table with one ``repeat_<i>`` column per shuffle instead of tuples."""
    repeats = pd.DataFrame(frame["importances"].tolist(), index=frame.index)
    repeats.columns = [f"repeat_{i + 1}" for i in range(repeats.shape[1])]
    return pd.concat([frame[SHOWN_COLUMNS], repeats], axis=1)
