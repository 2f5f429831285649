"""Reading a corpus of tasks (a ``manifest.json`` beside ``data/<name>.parquet``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from autometa.task import CLASSIFICATION


@dataclass(frozen=True)
class CorpusTask:
    """One task of the corpus."""

    name: str
    task: str
    target: str
    group: str
    path: Path

    def load(self) -> tuple[pd.DataFrame, pd.Series]:
        """Features and target."""
        frame = pd.read_parquet(self.path)
        return frame.drop(columns=[self.target]), frame[self.target]


def load_corpus(corpus: str | Path, task: str | None = None) -> list[CorpusTask]:
    """Tasks listed in ``corpus/manifest.json`` (optionally only one task type)."""
    corpus = Path(corpus)
    manifest = corpus / "manifest.json"
    if not manifest.is_file():
        raise FileNotFoundError(f"No manifest.json in {corpus}; is this a task corpus?")
    tasks = [
        CorpusTask(m["name"], m["task"], m["target"], m.get("group") or m["name"],
                   corpus / "data" / f"{m['name']}.parquet")
        for m in json.loads(manifest.read_text())
    ]
    return [t for t in tasks if task is None or t.task == task]


def subsample(X: pd.DataFrame, y: pd.Series, task: str, max_rows: int, seed: int):
    """At most ``max_rows`` rows, stratified by class for classification."""
    if len(X) <= max_rows:
        return X.reset_index(drop=True), y.reset_index(drop=True)
    counts = y.value_counts()
    stratify = y if task == CLASSIFICATION and counts.min() >= 2 else None
    idx, _ = train_test_split(np.arange(len(X)), train_size=max_rows, random_state=seed,
                              stratify=stratify)
    idx = np.sort(idx)
    return X.iloc[idx].reset_index(drop=True), y.iloc[idx].reset_index(drop=True)
