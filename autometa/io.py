"""Files for the command line: data tables in, model files in and out, JSON values.

Everything here raises :class:`DataFileError` (a ``ValueError``) with a message a
person can act on; the command line prints it as one line.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from autometa.task import CLASSIFICATION, REGRESSION
from autometa.versions import library_versions

MODEL_FORMAT = "autometa-model"
MODEL_FORMAT_VERSION = 1
FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet"}
COMPRESSIONS = (".gz", ".bz2", ".xz", ".zst", ".zip")
MAX_INTEGER_CLASSES = 10  # an integer target with at most this many values is a class label


class DataFileError(ValueError):
    """A data or model file that cannot be used, with the reason and what to do."""


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON: numpy values unwrapped, NaN and infinities as ``None``.

    Parameters
    ----------
    value : any
        Nested dicts, lists, tuples, arrays and scalars.

    Returns
    -------
    any
        The same structure made of dicts, lists, str, int, float, bool and None.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def listed(items: Sequence[Any], limit: int = 12) -> str:
    """The first ``limit`` items joined by commas, with ``", ..."`` when there are more.

    Parameters
    ----------
    items : sequence
        What to list (each shown with ``str``).
    limit : int, default=12
        Most items shown.

    Returns
    -------
    str
        E.g. ``"a, b, c, ..."``.
    """
    return ", ".join(str(i) for i in items[:limit]) + (", ..." if len(items) > limit else "")


# -- data tables -----------------------------------------------------------------------------


def file_format(path: str | Path) -> str:
    """The table format of ``path`` from its extension: ``csv``, ``tsv`` or ``parquet``.

    Parameters
    ----------
    path : str or Path
        File name; ``.csv``/``.tsv`` may carry a compression suffix such as ``.gz``.

    Returns
    -------
    str
        The format name.
    """
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes = suffixes[:-1]
    kind = FORMATS.get(suffixes[-1] if suffixes else "")
    if kind is None or (kind == "parquet" and len(suffixes) < len(Path(path).suffixes)):
        found = "".join(Path(path).suffixes) or "no extension"
        raise DataFileError(
            f"{path}: unsupported file type ({found}); use a .csv, .tsv or .parquet file."
        )
    return kind


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV, TSV or Parquet file (chosen by extension) into a DataFrame.

    Parameters
    ----------
    path : str or Path
        The data file.

    Returns
    -------
    DataFrame
        The table, with at least one row and one column.

    Raises
    ------
    DataFileError
        If the file is missing, unreadable, of an unsupported type or empty.
    """
    path = Path(path)
    kind = file_format(path)
    if not path.exists():
        raise DataFileError(f"{path}: no such file.")
    if path.is_dir():
        raise DataFileError(f"{path}: is a directory, not a data file.")
    try:
        frame = _read(path, kind)
    except pd.errors.EmptyDataError:
        raise DataFileError(f"{path}: the file is empty.") from None
    except PermissionError:
        raise DataFileError(f"{path}: permission denied.") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataFileError(_unreadable(path, kind, exc)) from None
    if frame.shape[1] == 0:
        raise DataFileError(f"{path}: the file has no columns.")
    if len(frame) == 0:
        raise DataFileError(f"{path}: the file has a header but no data rows.")
    return frame


def _read(path: Path, kind: str) -> pd.DataFrame:
    if kind == "parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, sep="," if kind == "csv" else "\t", low_memory=False)


def _unreadable(path: Path, kind: str, exc: Exception) -> str:
    """Why a file could not be read: binary content, an encoding other than UTF-8, or
    the reader's own message."""
    try:  # an uncompressed file with NUL bytes near its start is not text
        with open(path, "rb") as handle:
            binary = path.suffix.lower() not in COMPRESSIONS and b"\x00" in handle.read(4096)
    except OSError:
        binary = False
    if kind != "parquet" and binary:
        return f"{path}: not a {kind.upper()} file (it holds binary data, not text)."
    if isinstance(exc, UnicodeDecodeError):
        return (f"{path}: not UTF-8 text (it has the byte {exc.object[exc.start]:#04x}); save "
                "it as UTF-8, e.g. export it as \"CSV UTF-8\".")
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return f"{path}: could not be read as {kind.upper()} ({reason})."


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` as CSV, TSV or Parquet according to the extension of ``path``.

    Parameters
    ----------
    frame : DataFrame
        The table (its index is not written).
    path : str or Path
        Destination; ``.csv``, ``.tsv`` or ``.parquet``.
    """
    kind = file_format(path)
    if kind == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, sep="," if kind == "csv" else "\t", index=False)


def split_target(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    """Separate the target column from the features.

    Parameters
    ----------
    frame : DataFrame
        The table read from the data file.
    target : str
        Name of the target column.

    Returns
    -------
    X : DataFrame
        All other columns.
    y : Series
        The target column.
    """
    if target not in frame.columns:
        raise DataFileError(unknown_column(frame, target))
    if frame.shape[1] < 2:
        raise DataFileError(f"the data has only the target column {target!r}; no features.")
    return frame.drop(columns=[target]), frame[target]


def unknown_column(frame: pd.DataFrame, name: str, role: str = "target") -> str:
    """The message for a column ``name`` (the ``role`` column) that ``frame`` lacks."""
    names = [str(c) for c in frame.columns]
    message = f"unknown {role} column {name!r}"
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    message += f". Columns are: {listed([repr(n) for n in names])}."
    if len(names) == 1 and any(sep in names[0] for sep in "\t;|,"):
        message += " (Only one column was found: is the separator right for the extension?)"
    return message


def prediction_features(frame: pd.DataFrame, estimator, target: str | None,
                        path: str | Path) -> pd.DataFrame:
    """The columns of ``frame`` the model was fitted on, in fit order (others are left out).

    Parameters
    ----------
    frame : DataFrame
        Rows to predict, possibly still with the target and other extra columns.
    estimator : AutoMetaClassifier or AutoMetaRegressor
        The fitted model (its ``feature_names_in_`` are used when it has them).
    target : str or None
        Name of the target column, dropped if present.
    path : str or Path
        The data file's name, for messages.

    Returns
    -------
    DataFrame
        The features, in the order seen at fit time.
    """
    if target is not None and target in frame.columns:
        frame = frame.drop(columns=[target])
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        return frame
    missing = [str(n) for n in names if n not in frame.columns]
    if missing:
        raise DataFileError(f"{path}: lacks {len(missing)} column(s) the model was fitted on: "
                            f"{listed([repr(m) for m in missing])}.")
    return frame[list(names)]


# -- the task --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskGuess:
    """The task inferred from a target column and the rule that decided it."""

    task: str
    reason: str


def infer_task(y: pd.Series) -> TaskGuess:
    """Classification or regression, from the values of the target column.

    Non-numeric targets (strings, categories, booleans) are labels; a numeric target
    whose values are all integers with at most ``MAX_INTEGER_CLASSES`` distinct values
    is a class label; anything else numeric is a regression target.

    Parameters
    ----------
    y : Series
        The target column.

    Returns
    -------
    TaskGuess
        The task and a sentence saying which rule fired.
    """
    values = y.dropna()
    n_unique = values.nunique()
    if pd.api.types.is_bool_dtype(y.dtype) or not pd.api.types.is_numeric_dtype(y.dtype):
        return TaskGuess(CLASSIFICATION,
                         f"the target is non-numeric ({y.dtype}) with {n_unique} distinct values")
    numbers = values.to_numpy(dtype=float)
    if np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers)):
        if n_unique <= MAX_INTEGER_CLASSES:
            return TaskGuess(CLASSIFICATION, f"the target holds {n_unique} distinct integer "
                             f"values (at most {MAX_INTEGER_CLASSES} means class labels)")
        return TaskGuess(REGRESSION, f"the target holds {n_unique} distinct integer values "
                         f"(more than {MAX_INTEGER_CLASSES} means a quantity)")
    return TaskGuess(REGRESSION, "the target is numeric with non-integer values")


def check_learnable(y: pd.Series, name: str) -> None:
    """Refuse a target with fewer than two distinct values (nothing to learn).

    Parameters
    ----------
    y : Series
        The target column, without missing values.
    name : str
        Its name, for the message.
    """
    values = y.dropna()
    if values.nunique() < 2:
        shown = "only missing values" if values.empty else f"one value ({values.iloc[0]!r})"
        raise DataFileError(
            f"the target column {name!r} has {shown}; a model needs at least two classes "
            "or values to learn from."
        )


# -- model files -----------------------------------------------------------------------------


def save_model(path: str | Path, estimator, **metadata: Any) -> None:
    """Save a fitted estimator with ``joblib`` together with metadata (target, task, ...).

    Parameters
    ----------
    path : str or Path
        Destination file (conventionally ``*.joblib``).
    estimator : AutoMetaClassifier or AutoMetaRegressor
        The fitted estimator.
    **metadata
        Stored alongside, e.g. ``target="label"``.
    """
    import joblib

    bundle = {"format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION,
              "estimator": estimator, "versions": library_versions(), **metadata}
    joblib.dump(bundle, path)


def load_model(path: str | Path) -> dict[str, Any]:
    """Load a model file written by :func:`save_model` (or a bare dumped estimator).

    Only load files you trust: like any pickle, a joblib file can run code when loaded.

    Parameters
    ----------
    path : str or Path
        The model file.

    Returns
    -------
    dict
        ``estimator`` plus the stored metadata (``target``, ``task``, ``versions``, ...).
    """
    import joblib

    from autometa.estimators import AutoMetaEstimator

    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: no such model file." if not path.exists()
                            else f"{path}: is not a file.")
    if not _looks_like_joblib(path):
        raise DataFileError(_not_a_model(path))
    try:
        loaded = joblib.load(path)
    except Exception as exc:  # unpickling raises almost anything on a foreign file
        reason = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}".rstrip(": ")
        raise DataFileError(f"{path}: not an autometa model file, or one written with other "
                            f"library versions (joblib could not load it: {reason}).") from None
    if isinstance(loaded, AutoMetaEstimator):
        loaded = {"format": MODEL_FORMAT, "estimator": loaded}
    if not isinstance(loaded, dict) or loaded.get("format") != MODEL_FORMAT:
        raise DataFileError(f"{path}: not an autometa model file (it holds a "
                            f"{type(loaded).__name__}); create one with `autometa fit -o`.")
    if not hasattr(loaded["estimator"], "ensemble_"):
        raise DataFileError(f"{path}: the model in this file is not fitted.")
    return loaded


# First bytes of a pickle (protocol 2 or later) and of joblib's compressed files.
JOBLIB_MAGIC = (b"\x80", b"x", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"]\x00\x00", b"\x04\"M\x18")


def _looks_like_joblib(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return any(handle.read(8).startswith(magic) for magic in JOBLIB_MAGIC)
    except OSError as exc:
        raise DataFileError(f"{path}: cannot be read ({exc.strerror or exc}).") from None


def _not_a_model(path: Path) -> str:
    hint = ("it looks like a data file (for `autometa predict`, MODEL comes before DATA)"
            if path.suffix.lower() in FORMATS else "create one with `autometa fit -o model.joblib`")
    return f"{path}: not an autometa model file (not a joblib file at all); {hint}."
