"""Trial records: frozen values, one per evaluated configuration."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SKIPPED = "skipped"  # the status of a promotion not run (see Trial.status)


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
        ``ok``, ``error``, ``timeout``, ``memout``, ``crashed``, or ``skipped`` (not
        run: a promotion whose measured time on fewer rows says it could not end in
        time, or a proposal expected to take longer than a trial may; see
        :mod:`autometa.search`).
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
    trees : float
        The share of its configuration's trees the trial trained (below 1: a forest or a
        booster on a lower rung, see :func:`autometa.fidelity.tree_share`).
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
    trees: float = 1.0

    @property
    def all_trees_seconds(self) -> float:
        """The wall time the trial would have taken on all its configuration's trees (a
        forest's or booster's time grows with them as with its rows): what estimates of the
        configuration's time on other rows start from."""
        return self.wall_time / self.trees

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def failed(self) -> bool:
        """Whether the trial ran and failed (a skipped promotion did not run)."""
        return self.status not in ("ok", SKIPPED)


@dataclass(frozen=True)
class Growth:
    """How a configuration's trial time grows with its training rows.

    Through its largest trial (``rows``, ``seconds``) as ``rows ** power``, or along
    the line through its last two trials (``slope`` seconds per row) where that is
    steeper: a fixed cost per tree or epoch makes the time of small trials grow slowly,
    and a power fitted to them would foretell too little for many more rows.
    """

    rows: int
    seconds: float
    power: float = 1.0
    slope: float = 0.0  # 0: one trial, no line

    def seconds_at(self, rows: float) -> float:
        """Expected seconds on ``rows`` rows (no fewer than :attr:`rows`)."""
        return max(self.seconds * (rows / self.rows) ** self.power,
                   self.seconds + self.slope * (rows - self.rows))

    def rows_within(self, seconds: float) -> float:
        """Rows a trial may train on in ``seconds`` (the inverse of :meth:`seconds_at`)."""
        by_power = self.rows * (max(seconds, 0.0) / max(self.seconds, 1e-9)) ** (1 / self.power)
        if self.slope <= 0:
            return by_power
        return min(by_power, self.rows + (seconds - self.seconds) / self.slope)


def growth(config: Mapping[str, Any], trials: Iterable[Trial], below: float = math.inf,
           power: float = 1.0) -> Growth | None:
    """The :class:`Growth` of ``config``'s successful trials on fewer than ``below`` rows
    (``None`` without one), on all its trees (:attr:`Trial.all_trees_seconds`):
    ``power`` from one trial; from more, the exponent of the last two (kept within
    ``[0.5, 1.5]``) and the line through them."""
    key = config_key(config)
    lower = sorted({t.fidelity: t.all_trees_seconds for t in trials if t.ok and t.fidelity
                    is not None and t.fidelity < below and config_key(t.config) == key}.items())
    if not lower:
        return None
    rows_1, seconds_1 = lower[-1]
    if len(lower) < 2 or lower[-2][1] <= 0 or seconds_1 <= 0:
        return Growth(rows_1, seconds_1, power)
    rows_0, seconds_0 = lower[-2]
    power = min(1.5, max(0.5, math.log(seconds_1 / seconds_0) / math.log(rows_1 / rows_0)))
    return Growth(rows_1, seconds_1, power, (seconds_1 - seconds_0) / (rows_1 - rows_0))


def expected_seconds(config: Mapping[str, Any], rows: int, trials: Iterable[Trial],
                     power: float = 1.0) -> float | None:
    """Expected wall time of a trial of ``config`` on ``rows`` rows (on all its trees),
    from its trials on fewer (see :func:`growth`; ``None`` without one)."""
    known = growth(config, trials, rows, power)
    return None if known is None else known.seconds_at(rows)


def fidelity_level(rows: int | None) -> float:
    """A trial's fidelity as a number to compare (``None``, all rows: ``inf``)."""
    return float("inf") if rows is None else float(rows)


def finalists(trials: Iterable[Trial]) -> list[Trial]:
    """The trials an ensemble and a refit choose from: the successful trials of the
    highest fidelity among them (all successful trials of a search on one fidelity),
    and the highest-fidelity trial of each configuration whose promotion was skipped
    as too slow (successive halving chose it; its cost, not its loss, stopped it).

    Losses of all fidelities are measured on the same validation rows, so they compare.
    """
    trials = list(trials)
    ok = [t for t in trials if t.ok]
    top = max((fidelity_level(t.fidelity) for t in ok), default=None)
    chosen = {t.id for t in ok if fidelity_level(t.fidelity) == top}
    stopped = {config_key(t.config) for t in trials if t.status == SKIPPED}
    highest: dict[str, Trial] = {}  # a stopped configuration's highest-fidelity trial
    for t in ok if stopped else ():
        key = config_key(t.config)
        if key in stopped and (key not in highest or fidelity_level(t.fidelity)
                               > fidelity_level(highest[key].fidelity)):
            highest[key] = t
    chosen |= {t.id for t in highest.values()}
    return [t for t in ok if t.id in chosen]
