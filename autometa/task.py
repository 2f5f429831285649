"""The task types: the one definition of what a learning task can be."""

from __future__ import annotations

from typing import Final, Literal

TaskType = Literal["classification", "regression"]
CLASSIFICATION: Final = "classification"
REGRESSION: Final = "regression"
TASK_TYPES: Final = (CLASSIFICATION, REGRESSION)


def check_task_type(task: str) -> TaskType:
    """``task`` if it is a task type, else a ``ValueError`` naming the valid ones."""
    if task not in TASK_TYPES:
        raise ValueError(f"task must be one of {TASK_TYPES}, got {task!r}.")
    return task  # type: ignore[return-value]
