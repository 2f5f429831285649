"""A training table typed and validated once.

:meth:`Table.from_raw` is the one recipe from what a user passes to ``fit`` (any table
and target) to what every later step works on: the canonical typed frame, the encoded
target, the schema that types new rows the same way, and the class labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from autometa import data as tabular
from autometa.task import TaskType, check_task_type
from autometa.weights import check_class_weights, check_sample_weight

RAW_SAMPLE = 1_000  # rows of the table as given that a Table keeps


@dataclass(frozen=True)
class Table:
    """A validated training table.

    Attributes
    ----------
    X : DataFrame
        The canonical typed frame (columns ``f0 .. f{m-1}``; numeric ``float64``,
        categorical ``category``; NaN for missing).
    y : ndarray
        The target: labels encoded as ``0 .. C-1`` (classification) or floats.
    task : {"classification", "regression"}
    schema : TabularSchema
        How the columns were typed; it types rows to predict the same way.
    classes : ndarray or None
        The original class labels in encoding order (``None`` for regression).
    sample_weight : ndarray or None
        Row weights scaled to a mean of 1 over the rows of positive weight (see
        :func:`autometa.weights.check_sample_weight`); ``None`` when unweighted.
    raw_sample : DataFrame or None
        The first ``RAW_SAMPLE`` rows as given (a copy), to time typing new rows.
    """

    X: pd.DataFrame
    y: np.ndarray
    task: TaskType
    schema: tabular.TabularSchema
    classes: np.ndarray | None = None
    sample_weight: np.ndarray | None = None
    raw_sample: pd.DataFrame | None = None

    @property
    def n_classes(self) -> int | None:
        """Number of classes (``None`` for regression)."""
        return None if self.classes is None else len(self.classes)

    @classmethod
    def from_raw(cls, X, y, task: str, owner: str = "autometa", sample_weight=None) -> Table:
        """Type and validate a raw table and target.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        task : {"classification", "regression"}
        owner : str
            Who asks (an estimator's name), for error messages.
        sample_weight : array-like of shape (n_samples,) or None
            Row weights (see :func:`autometa.weights.check_sample_weight`).

        Raises
        ------
        ValueError
            With what to fix: no columns, too few rows, a bad target, untypeable columns,
            bad weights.
        """
        return cls.from_frame(tabular.as_frame(X), y, task, owner, sample_weight)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, y, task: str, owner: str = "autometa",
                   sample_weight=None) -> Table:
        """:meth:`from_raw` for a frame already made by :func:`autometa.data.as_frame`."""
        task = check_task_type(task)
        if frame.shape[1] == 0:
            raise ValueError(f"0 feature(s) (shape={frame.shape}) while a minimum of 1 is "
                             "required.")
        tabular.check_min_rows(len(frame))
        target = tabular.check_target(y, len(frame), task, owner)
        weights = check_sample_weight(sample_weight, len(frame))
        if target.classes is not None:
            check_class_weights(target.y, weights, target.classes)
        schema = tabular.learn_schema(frame)
        return cls(schema.transform(frame), target.y, task, schema, target.classes, weights,
                   frame.iloc[:RAW_SAMPLE].copy())
