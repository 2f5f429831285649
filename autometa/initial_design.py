"""The initial design: which configurations a fit evaluates first, from the shipped portfolio.

(Not to be confused with the estimators' ``warm_start``, which continues a previous fit.)
The initial design hands out the portfolio's configurations one at a time, so that each pick
can use the losses seen so far: once a few are known, the source tasks that rank the
same configurations as the new task does count more (see :meth:`Portfolio.select`).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from autometa.portfolio import Pick, Portfolio, PortfolioError, load

BASELINE = "lightgbm"  # its default comes second on more rows than the portfolio measured

Tried = Sequence[tuple[Mapping, float | None]]


class InitialDesign:
    """The portfolio configurations a fit evaluates first, handed out one at a time.

    Parameters
    ----------
    portfolio : Portfolio or None
        The candidates to choose from (``None``: hand out nothing).
    strategy : {"auto", "greedy"}
        See :meth:`Portfolio.select`.
    metafeatures : mapping or None
        The new task's meta-features (needed by ``"auto"``).
    n : int
        Number of configurations handed out at most.
    baseline : dict, optional
        A configuration to evaluate second, whatever the portfolio says.

    Attributes
    ----------
    picks : list of Pick
        The configurations handed out so far, in order.
    """

    def __init__(self, portfolio: Portfolio | None, strategy: str = "auto",
                 metafeatures: Mapping[str, float] | None = None, n: int = 0,
                 baseline: dict | None = None) -> None:
        self.portfolio = portfolio if portfolio is not None and portfolio.configs else None
        self.strategy, self.metafeatures, self.n = strategy, metafeatures, n
        self.baseline = baseline
        self.picks: list[Pick] = []
        self._exhausted = False  # every candidate has been tried

    @property
    def done(self) -> bool:
        """Whether no more configuration will be handed out."""
        return self.portfolio is None or self._exhausted or len(self.picks) >= self.n

    def __call__(self, tried: Tried) -> dict | None:
        """The next configuration to evaluate, or ``None`` when the design is exhausted.

        Parameters
        ----------
        tried : sequence of (config, loss)
            Configurations evaluated on the task so far, in order: loss ``inf`` for a
            failed trial, ``None`` for one still running.
        """
        if self.done:
            return None
        pick = self._next(tried)
        if pick is None:
            self._exhausted = True
            return None
        self.picks.append(pick)
        return pick.config

    def _next(self, tried: Tried) -> Pick | None:
        configs = [dict(c) for c, _ in tried]
        if len(self.picks) == 1 and self.baseline is not None and self.baseline not in configs:
            return Pick(dict(self.baseline), "default")
        picks = self.portfolio.select(self.metafeatures, 1, self.strategy, tried=tried)
        return picks[0] if picks else None

    def planned(self) -> list[Pick]:
        """The configurations it hands out when no loss becomes known (a dry run)."""
        dry = copy.copy(self)
        dry.picks, tried = [], []
        while (config := dry(tried)) is not None:
            tried.append((config, None))
        return dry.picks


def portfolio_design(task: str, strategy: str, metafeatures: Mapping[str, float] | None, n: int,
               families: Collection[str], source: Portfolio | str | Path | None = None,
               budget: tuple[float, int, int | None] | None = None,
               n_rows: int | None = None, defaults: Mapping | None = None) -> InitialDesign:
    """The initial design of a fit from the shipped portfolio.

    Parameters
    ----------
    task : {"classification", "regression"}
    strategy : {"auto", "greedy", "off"}
        See :meth:`Portfolio.select`; ``"off"`` hands out no configuration.
    metafeatures : mapping or None
        The task's meta-features (needed by ``"auto"``).
    n : int
        Number of configurations.
    families : collection of str
        Model families in the search space; candidates of others are skipped.
    source : Portfolio, str or Path, optional
        A portfolio, or its file, to use instead of the shipped one.
    budget : (seconds, fit_rows, n_classes), optional
        Keep only candidates expected to finish a trial in ``seconds`` when it trains on
        ``fit_rows`` rows in all, with ``n_classes`` classes (``None`` for regression; see
        :meth:`Portfolio.affordable`).
    n_rows : int, optional
        Rows of the task. On more rows than the portfolio measured its candidates on, its
        evidence is extrapolated, and the default :data:`BASELINE` configuration comes
        second.
    defaults : mapping, optional
        Values of the search space's root-level hyperparameters for the candidates (and
        the baseline) that lack them (see :meth:`Portfolio.with_defaults`).

    Returns
    -------
    InitialDesign
        One that hands out nothing, with a warning, when the portfolio cannot be read.
    """
    if strategy == "off" or n <= 0:
        return InitialDesign(None)
    try:
        portfolio = source if isinstance(source, Portfolio) else load(task, source)
        if portfolio.task != task:
            raise PortfolioError(f"The portfolio given is for {portfolio.task}, not {task}.")
    except PortfolioError as exc:
        warnings.warn(f"{exc} Starting the search without meta-learning.", stacklevel=3)
        return InitialDesign(None)
    portfolio = portfolio.only_families(families).with_defaults(defaults or {})
    if budget is not None:
        portfolio = portfolio.affordable(*budget)
    large = n_rows is not None and n_rows > portfolio.measured_rows
    first = baseline(families, task) if large else None
    return InitialDesign(portfolio, strategy, metafeatures, n,
                         baseline=None if first is None else {**(defaults or {}), **first})


def baseline(families: Collection[str], task: str) -> dict | None:
    """The default configuration of :data:`BASELINE` (``None`` when it is not searched)."""
    from autometa.components import registry
    from autometa.space import family_default

    return family_default(registry()[BASELINE], task) if BASELINE in families else None
