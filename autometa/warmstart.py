"""How a fit starts from the shipped portfolio: which configurations it evaluates first."""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from autometa.portfolio import Pick, Portfolio, PortfolioError, load


def initial_picks(task: str, strategy: str, metafeatures: Mapping[str, float] | None, n: int,
                  families: Collection[str], source: Portfolio | str | Path | None = None,
                  budget: tuple[float, int, int | None] | None = None) -> list[Pick]:
    """The configurations a fit evaluates first, from the shipped portfolio.

    Parameters
    ----------
    task : {"classification", "regression"}
    strategy : {"auto", "greedy", "off"}
        See :meth:`Portfolio.select`; ``"off"`` returns no configuration.
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

    Returns
    -------
    list of Pick
        Empty, with a warning, when the portfolio cannot be read.
    """
    if strategy == "off" or n <= 0:
        return []
    try:
        portfolio = source if isinstance(source, Portfolio) else load(task, source)
        if portfolio.task != task:
            raise PortfolioError(f"The portfolio given is for {portfolio.task}, not {task}.")
    except PortfolioError as exc:
        warnings.warn(f"{exc} Starting the search without meta-learning.", stacklevel=3)
        return []
    portfolio = portfolio.only_families(families)
    if budget is not None:
        portfolio = portfolio.affordable(*budget)
    return portfolio.select(metafeatures, n, strategy)


BASELINE = "lightgbm"  # its default configuration is always among the first trials


def with_baseline(picks: list[Pick], families: Sequence, task: str, n: int) -> list[Pick]:
    """``picks`` with the default configuration of :data:`BASELINE` second (after the
    most promising pick), so that a fit never misses the usual strong default.

    Parameters
    ----------
    picks : list of Pick
        The portfolio's choice; returned unchanged when empty (no meta-learning).
    families : sequence of ModelSpec
        The families searched; unchanged when :data:`BASELINE` is not among them.
    task : str
    n : int
        Number of configurations to return at most.
    """
    from autometa.space import family_default

    spec = next((f for f in families if f.name == BASELINE), None)
    if not picks or spec is None:
        return picks
    default = family_default(spec, task)
    rest = [p for p in picks if p.config != default]
    return [*rest[:1], Pick(default, "default"), *rest[1:]][:n]
