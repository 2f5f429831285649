"""Continuing a fit (``warm_start``): what a finished fit keeps for it, and when it may be
continued: on the same data (by a cheap fingerprint) and with the settings that shaped its
search unchanged."""

from __future__ import annotations

from dataclasses import dataclass

import joblib
import numpy as np
import pandas as pd

from autometa.automl import FitResult


@dataclass(frozen=True)
class Previous:
    """A finished fit that ``warm_start`` may continue, and the identity of its data."""

    result: FitResult
    fingerprint: str
    experience_uid: str | None = None  # its record in the experience store
    settings: dict | None = None  # the parameters that shaped its search


def fingerprint(frame: pd.DataFrame, y: np.ndarray, sample_weight: np.ndarray | None = None
                ) -> str:
    """A cheap identity of a training set: shape, columns, types, target, weights and
    sampled rows."""
    step = max(1, len(frame) // 1000)
    sample = frame.iloc[::step]
    rows = pd.util.hash_pandas_object(sample, index=False).to_numpy()
    identity = (frame.shape, list(map(str, frame.columns)), list(map(str, frame.dtypes)), y, rows)
    return joblib.hash(identity if sample_weight is None else (*identity, sample_weight))


def search_settings(estimator, names: tuple[str, ...]) -> dict:
    """The estimator's parameters ``names``, lists as tuples (a later change to the user's
    list cannot change what was recorded)."""
    return {name: tuple(v) if isinstance(v := getattr(estimator, name), list) else v
            for name in names}


def to_continue(previous: Previous | None, key: str, settings: dict) -> FitResult | None:
    """The fit to continue: ``previous`` when there is one; an error when it was run on
    other data (``key`` is this data's fingerprint) or with other ``settings``."""
    if previous is None:
        return None
    if previous.fingerprint != key:
        raise ValueError(
            "warm_start=True continues the previous search, which was run on other data; "
            "fit the same X and y again, or set warm_start=False to start anew."
        )
    changed = [f"{name}={was!r} (now {now!r})" for name, now in settings.items()
               if (was := (previous.settings or {}).get(name, now)) != now]
    if changed:
        raise ValueError(
            "warm_start=True continues the previous search, which ran with "
            f"{', '.join(changed)}; set these back, or set warm_start=False to start anew."
        )
    return previous.result
