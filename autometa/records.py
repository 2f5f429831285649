"""Trial records: frozen values, one per evaluated configuration."""

from __future__ import annotations

import json
from collections.abc import Mapping
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

    @property
    def ok(self) -> bool:
        return self.status == "ok"
