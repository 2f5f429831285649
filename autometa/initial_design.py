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

BASELINES = ("lightgbm", "hist_gradient_boosting")  # their defaults are always tried:
BASELINES_AFTER = 3  # after this many portfolio picks, or after the first on more rows
# than the portfolio measured (its evidence is extrapolated there)

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
    baselines : sequence of dict
        Configurations to evaluate after ``baselines_after`` picks, whatever the portfolio
        says (those tried already are skipped).
    baselines_after : int
        Picks from the portfolio before the baselines.

    Attributes
    ----------
    picks : list of Pick
        The configurations handed out so far, in order.
    """

    def __init__(self, portfolio: Portfolio | None, strategy: str = "auto",
                 metafeatures: Mapping[str, float] | None = None, n: int = 0,
                 baselines: Sequence[dict] = (), baselines_after: int = 1) -> None:
        self.portfolio = portfolio if portfolio is not None and portfolio.configs else None
        self.strategy, self.metafeatures, self.n = strategy, metafeatures, n
        self.baselines = [dict(b) for b in baselines]
        self.baselines_after = baselines_after
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
        configs = [dict(c) for c, _ in tried] + [p.config for p in self.picks]
        if len(self.picks) >= self.baselines_after:
            for config in self.baselines:
                if config not in configs:
                    return Pick(dict(config), "default")
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
        Rows of the task: the :data:`BASELINES` defaults come after the first pick on more
        rows than the portfolio measured its candidates on, else after
        :data:`BASELINES_AFTER` picks.
    defaults : mapping, optional
        Values of the search space's root-level hyperparameters for the candidates (and
        the baselines) that lack them (see :meth:`Portfolio.with_defaults`).

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
    completed = [{**(defaults or {}), **b} for b in baselines(families, task)]
    return InitialDesign(portfolio, strategy, metafeatures, n, baselines=completed,
                         baselines_after=1 if large else BASELINES_AFTER)


def baselines(families: Collection[str], task: str) -> list[dict]:
    """The default configurations of the :data:`BASELINES` families that are searched: a
    safety net, so that the ensemble can lose to a default model only by validation
    noise."""
    from autometa.components import registry
    from autometa.space import family_default

    specs = registry()
    return [family_default(specs[name], task) for name in BASELINES if name in families]
