"""The leaderboard: trials as a DataFrame, best first.

A regression search that chose among target transformations has a ``target_transform``
column after ``family`` (``"none"``, ``"log1p"``, ``"yeo-johnson"``).

``fidelity`` is the training rows per split a trial used, ``trees`` the share of its
configuration's trees it trained (below 1: a forest or booster on a lower rung) and ``promoted``
whether successive halving promoted it from a lower fidelity. Under multi-fidelity search, the
successful trials of the highest fidelity come first (they are the ensemble's
candidates), then those of lower fidelities, each group by score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from autometa.records import Trial
from autometa.space import TARGET_TRANSFORM, target_transform

COLUMNS = ["rank", "trial", "family", "origin", "status", "score", "score_std", "fidelity",
           "trees", "promoted", "fit_time", "predict_time", "wall_time", "ensemble_weight", "error",
           "config"]


def leaderboard_frame(trials: Sequence[Trial], weights: dict[int, float]) -> pd.DataFrame:
    """One row per trial; successful trials ranked by validation score, failures last."""
    rows = [
        {
            "trial": t.id,
            "family": t.family,
            "origin": t.origin,
            "status": t.status,
            "score": np.nan if t.loss is None else -t.loss,
            "score_std": np.nan if t.loss_std is None else t.loss_std,
            "fidelity": np.nan if t.fidelity is None else t.fidelity,
            "trees": t.trees,
            "promoted": t.promoted,
            "fit_time": np.nan if t.fit_time is None else t.fit_time,
            "predict_time": np.nan if t.predict_time is None else t.predict_time,
            "wall_time": t.wall_time,
            "ensemble_weight": weights.get(t.id, 0.0),
            "error": t.error,
            "config": t.config,
        }
        for t in trials
    ]
    frame = pd.DataFrame(rows, columns=COLUMNS[1:])
    if any(TARGET_TRANSFORM in t.config for t in trials):
        frame.insert(frame.columns.get_loc("family") + 1, TARGET_TRANSFORM,
                     [target_transform(t.config) for t in trials])
    level = frame["fidelity"].fillna(np.inf).where(frame["score"].notna(), -np.inf)
    frame = frame.assign(_level=level).sort_values(
        ["_level", "score", "trial"], ascending=[False, False, True], na_position="last"
    ).drop(columns="_level")
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return frame.reset_index(drop=True)
