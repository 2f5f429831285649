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
    """

    X: pd.DataFrame
    y: np.ndarray
    task: TaskType
    schema: tabular.TabularSchema
    classes: np.ndarray | None = None

    @property
    def n_classes(self) -> int | None:
        """Number of classes (``None`` for regression)."""
        return None if self.classes is None else len(self.classes)

    @classmethod
    def from_raw(cls, X, y, task: str, owner: str = "autometa") -> Table:
        """Type and validate a raw table and target.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        task : {"classification", "regression"}
        owner : str
            Who asks (an estimator's name), for error messages.

        Raises
        ------
        ValueError
            With what to fix: no columns, too few rows, a bad target, untypeable columns.
        """
        return cls.from_frame(tabular.as_frame(X), y, task, owner)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, y, task: str, owner: str = "autometa") -> Table:
        """:meth:`from_raw` for a frame already made by :func:`autometa.data.as_frame`."""
        task = check_task_type(task)
        if frame.shape[1] == 0:
            raise ValueError(f"0 feature(s) (shape={frame.shape}) while a minimum of 1 is "
                             "required.")
        tabular.check_min_rows(len(frame))
        target = tabular.check_target(y, len(frame), task, owner)
        schema = tabular.learn_schema(frame)
        return cls(schema.transform(frame), target.y, task, schema, target.classes)
