"""Trial records: frozen values, one per evaluated configuration."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


def config_key(config: Mapping[str, Any]) -> str:
    """A configuration as a hashable key: its JSON with sorted keys."""
    return json.dumps(config, sort_keys=True)


@dataclass(frozen=True)
class Trial:
    """One evaluated configuration.

    Attributes
    ----------
    id : int
        Order in which the trial finished (0-based).
    family : str
        Model family (the root ``model`` choice).
    config : dict
        The full configuration.
    origin : str
        ``"portfolio"`` (meta-learned initial design), ``"experience"`` (chosen from the
        experience store's earlier fits) or ``"smac"`` (proposed by the optimiser).
    status : str
        ``ok``, ``error``, ``timeout``, ``memout`` or ``crashed``.
    loss : float or None
        Minus the validation score (``None`` unless ``status == "ok"``).
    fit_time, predict_time : float or None
        Seconds spent in the pipeline's own ``fit`` and ``predict`` over all splits.
    wall_time : float
        Seconds from submission to result, as seen by the search.
    error : str
        Why the trial failed (empty when it succeeded).
    loss_std : float or None
        Standard deviation of the loss over the validation splits (``None`` for a
        holdout or a failed trial).
    fidelity : int or None
        Training rows per split the trial used (``None``: unknown, all rows).
    promoted : bool
        Whether successive halving promoted the configuration from a lower fidelity.
    """

    id: int
    family: str
    config: dict[str, Any]
    origin: str
    status: str
    loss: float | None
    fit_time: float | None
    predict_time: float | None
    wall_time: float
    error: str = ""
    loss_std: float | None = None
    fidelity: int | None = None
    promoted: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def fidelity_level(rows: int | None) -> float:
    """A trial's fidelity as a number to compare (``None``, all rows: ``inf``)."""
    return float("inf") if rows is None else float(rows)


def finalists(trials: Iterable[Trial]) -> list[Trial]:
    """The successful trials of the highest fidelity among them: those an ensemble and a
    refit choose from (all successful trials of a search on one fidelity)."""
    ok = [t for t in trials if t.ok]
    top = max((fidelity_level(t.fidelity) for t in ok), default=None)
    return [t for t in ok if fidelity_level(t.fidelity) == top]
