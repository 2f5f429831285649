"""What a model family is: a small declarative spec (space + build)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float, Integer
from ConfigSpace.hyperparameters import Hyperparameter

from autometa.task import CLASSIFICATION


@dataclass(frozen=True)
class BuildContext:
    """What a build function may know about the task besides its configuration."""

    task: str
    n_rows: int
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    cardinalities: tuple[int, ...] = ()
    seed: int = 0
    n_threads: int = 1

    @property
    def is_classification(self) -> bool:
        return self.task == CLASSIFICATION


@dataclass(frozen=True)
class ModelSpec:
    """One model family of the search space.

    Attributes
    ----------
    name : str
        Family name; the value of the root ``model`` hyperparameter.
    tasks : tuple of str
        ``"classification"`` and/or ``"regression"``.
    space : callable
        ``space(task) -> ConfigurationSpace`` with unprefixed hyperparameter names,
        preprocessing included.
    build : callable
        ``build(params, ctx) -> sklearn estimator`` (a Pipeline) from the unprefixed
        parameters of an active configuration.
    sample_weight : bool
        Whether the estimator's last step takes ``sample_weight`` in ``fit``; families
        that do not are left out of weighted fits.
    """

    name: str
    tasks: tuple[str, ...]
    space: Callable[[str], ConfigurationSpace]
    build: Callable[[dict[str, Any], BuildContext], Any]
    sample_weight: bool = True


def subspace(
    hyperparameters: Sequence[Hyperparameter],
    conditions: Sequence[EqualsCondition] = (),
) -> ConfigurationSpace:
    """A ConfigurationSpace from hyperparameters and conditions."""
    cs = ConfigurationSpace()
    cs.add(list(hyperparameters))
    if conditions:
        cs.add(list(conditions))
    return cs


def log_int(name: str, low: int, high: int, default: int) -> Integer:
    return Integer(name, (low, high), log=True, default=default)


def log_float(name: str, low: float, high: float, default: float) -> Float:
    return Float(name, (low, high), log=True, default=default)


def choice(name: str, items: Sequence[Any], default: Any = None) -> Categorical:
    return Categorical(name, list(items), default=items[0] if default is None else default)


def class_weight(params: dict[str, Any]) -> str | None:
    """The scikit-learn ``class_weight`` for a configuration's ``balanced`` flag."""
    return "balanced" if params.get("balanced") else None
