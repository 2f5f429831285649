"""How a fit starts from the shipped portfolio: which configurations it evaluates first."""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping
from pathlib import Path

from autometa.portfolio import Pick, Portfolio, PortfolioError, load


def initial_picks(task: str, strategy: str, metafeatures: Mapping[str, float] | None, n: int,
                  families: Collection[str], source: Portfolio | str | Path | None = None,
                  budget: tuple[float, int, int | None] | None = None,
                  n_rows: int | None = None) -> list[Pick]:
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
    n_rows : int, optional
        Rows of the task. On more rows than the portfolio measured its candidates on, its
        evidence is extrapolated, and the default LightGBM configuration comes second
        (see :func:`with_baseline`).

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
    picks = portfolio.select(metafeatures, n, strategy)
    if n_rows is not None and n_rows > portfolio.measured_rows:
        picks = with_baseline(picks, families, task, n)
    return picks


BASELINE = "lightgbm"  # its default comes second on more rows than the portfolio measured


def with_baseline(picks: list[Pick], families: Collection[str], task: str, n: int
                  ) -> list[Pick]:
    """``picks`` with the default configuration of :data:`BASELINE` second (after the
    most promising pick): the usual strong default on large data.

    Parameters
    ----------
    picks : list of Pick
        The portfolio's choice; returned unchanged when empty (no meta-learning).
    families : collection of str
        The families searched; unchanged when :data:`BASELINE` is not among them.
    task : str
    n : int
        Number of configurations to return at most.
    """
    from autometa.components import registry
    from autometa.space import family_default

    if not picks or BASELINE not in families:
        return picks
    default = family_default(registry()[BASELINE], task)
    rest = [p for p in picks if p.config != default]
    return [*rest[:1], Pick(default, "default"), *rest[1:]][:n]
