"""The initial design: which configurations a fit evaluates first, from the shipped portfolio.

(Not to be confused with the estimators' ``warm_start``, which continues a previous fit.)
The initial design hands out the portfolio's configurations one at a time, so that each pick
can use the losses seen so far: once a few are known, the source tasks that rank the
same configurations as the new task does count more (see :meth:`Portfolio.select`).
With an experience store, the fits stored there join the portfolio's source tasks and
a stored fit of the same table comes first (see :mod:`autometa.experience_use`). After
the portfolio's picks, the hp-learner (:mod:`autometa.hplearner`), adapted on the losses
seen so far, can propose configurations from the whole search space (:func:`learned_picks`).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

import numpy as np

from autometa.portfolio import Pick, Portfolio, PortfolioError, load
from autometa.records import config_key

BASELINES = ("lightgbm", "hist_gradient_boosting")  # their defaults are always tried:
BASELINES_AFTER = 3  # after this many portfolio picks, or after the first on more rows
# than the portfolio measured (its evidence is extrapolated there)
LEARNED_ORIGIN = "hp-learner"  # the leaderboard's origin (and the reason) of its picks
MIN_ADAPT = 3  # the hp-learner adapts to the task once this many losses are known

Tried = Sequence[tuple[Mapping, float | None]]
Learned = Callable[[Tried, set], list[Pick]]  # (tried, keys to avoid) -> picks, best first


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
    pinned : list of Pick, optional
        Configurations handed out first, in order (e.g. the best of an earlier fit of
        the same table).
    learned : callable, optional
        Proposes configurations once the portfolio's ``n`` picks are out (or the
        portfolio is exhausted): called once with what was tried so far and the keys of
        the configurations to avoid (see :func:`learned_picks`).
    n_learned : int
        Configurations handed out from ``learned`` at most.

    Attributes
    ----------
    picks : list of Pick
        The configurations handed out so far, in order.
    """

    def __init__(self, portfolio: Portfolio | None, strategy: str = "auto",
                 metafeatures: Mapping[str, float] | None = None, n: int = 0,
                 baselines: Sequence[dict] = (), baselines_after: int = 1,
                 pinned: list[Pick] | None = None, learned: Learned | None = None,
                 n_learned: int = 0) -> None:
        self.portfolio = portfolio if portfolio is not None and portfolio.configs else None
        self.strategy, self.metafeatures, self.n = strategy, metafeatures, n
        self.baselines = [dict(b) for b in baselines]
        self.baselines_after = baselines_after
        self.pinned = list(pinned or ())
        self.learned, self.n_learned = learned, n_learned if learned is not None else 0
        self.picks: list[Pick] = []
        self._queue: list[Pick] | None = None  # the learned picks, once proposed
        self._exhausted = False  # every candidate has been tried

    @property
    def done(self) -> bool:
        """Whether no more configuration will be handed out."""
        chosen = len(self.picks) - self._n_learned_out
        return self._exhausted or (self._n_learned_out >= self.n_learned
                                   and (self.portfolio is None or chosen >= self.n))

    @property
    def _n_learned_out(self) -> int:
        return sum(p.reason == LEARNED_ORIGIN for p in self.picks)

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

    def origin(self, config: Mapping) -> str:
        """The leaderboard's origin of a configuration this design handed out:
        ``"experience"`` when the experience store chose it, ``"hp-learner"`` when the
        hp-learner did, else ``"portfolio"``."""
        from autometa.experience_use import EXPERIENCE_ORIGIN, is_experience

        key = config_key(config)
        reasons = [p.reason for p in self.picks if config_key(p.config) == key]
        if reasons and reasons[-1] == LEARNED_ORIGIN:
            return LEARNED_ORIGIN
        return EXPERIENCE_ORIGIN if reasons and is_experience(reasons[-1]) else "portfolio"

    def _next(self, tried: Tried) -> Pick | None:
        keys = {config_key(c) for c, _ in tried} | {config_key(p.config) for p in self.picks}
        if self.portfolio is not None and len(self.picks) - self._n_learned_out < self.n:
            pick = self._from_portfolio(tried, keys)
            if pick is not None:
                return pick
        return self._from_learned(tried, keys)

    def _from_portfolio(self, tried: Tried, keys: set) -> Pick | None:
        pinned = [p for p in self.pinned if config_key(p.config) not in keys]
        if pinned:
            return pinned[0]
        if len(self.picks) >= self.baselines_after:
            for config in self.baselines:
                if config_key(config) not in keys:
                    return Pick(dict(config), "default")
        picks = self.portfolio.select(self.metafeatures, 1, self.strategy, tried=tried)
        return self._labelled(picks[0]) if picks else None

    def _from_learned(self, tried: Tried, keys: set) -> Pick | None:
        if self._n_learned_out >= self.n_learned:
            return None
        if self._queue is None:  # proposed once, after the portfolio's picks
            self._queue = list(self.learned(tried, keys))
        while self._queue:
            pick = self._queue.pop(0)
            if config_key(pick.config) not in keys:
                return pick
        return None

    def _labelled(self, pick: Pick) -> Pick:
        """The pick, its reason naming the stored fit when one chose it: a stored
        candidate, or a stored neighbour that moved it up (``"experience:<tag>"``)."""
        from autometa.experience_use import PREFIX

        if pick.reason.startswith("knn:" + PREFIX):
            return Pick(pick.config, pick.reason[len("knn:"):])
        if self.portfolio.stored is None:
            return pick
        source = self._sources.get(config_key(pick.config), "")
        return Pick(pick.config, source) if source.startswith(PREFIX) else pick

    @property
    def _sources(self) -> dict[str, str]:
        return {config_key(c): s for c, s in zip(self.portfolio.configs, self.portfolio.sources,
                                                 strict=True)}

    def planned(self) -> list[Pick]:
        """The configurations it hands out when no loss becomes known (a dry run)."""
        dry = copy.copy(self)
        dry.picks, dry._queue, tried = [], None, []
        while (config := dry(tried)) is not None:
            tried.append((config, None))
        return dry.picks


def portfolio_design(task: str, strategy: str, metafeatures: Mapping[str, float] | None, n: int,
               families: Collection[str], source: Portfolio | str | Path | None = None,
               budget: tuple[float, int, int | None] | None = None,
               n_rows: int | None = None, defaults: Mapping | None = None,
               experience=None, valid=None, learner=None, n_learned: int = 0,
               seed: int = 0) -> InitialDesign:
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
    experience : FitExperience, optional
        The fit's experience store: its stored fits join the source tasks (see
        :meth:`autometa.experience_use.FitExperience.learn`).
    valid : callable, optional
        Whether a stored (or learned) configuration belongs to the search space (needed
        with ``experience``).
    learner : HPLearner, optional
        The hp-learner proposing ``n_learned`` configurations after the portfolio's
        (with ``strategy="auto"``; see :func:`learned_picks`).
    n_learned : int
    seed : int
        Seeds the hp-learner's sample of the space.

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
    pinned: list[Pick] = []
    if experience is not None:
        n_classes = budget[2] if budget is not None else None
        portfolio, pinned = experience.learn(portfolio, metafeatures, n_classes,
                                             valid or (lambda config: True))
        pinned = [Pick({**(defaults or {}), **p.config}, p.reason) for p in pinned]
    portfolio = portfolio.only_families(families).with_defaults(defaults or {})
    if budget is not None:
        portfolio = portfolio.affordable(*budget)
    kept = {config_key(c) for c in portfolio.configs}
    large = n_rows is not None and n_rows > portfolio.measured_rows
    completed = [{**(defaults or {}), **b} for b in baselines(families, task)]
    learned = None
    if learner is not None and n_learned > 0 and strategy == "auto" and metafeatures:
        learned = learned_picks(learner, metafeatures, families, n_learned, seed, valid)
    return InitialDesign(portfolio, strategy, metafeatures, n, baselines=completed,
                         baselines_after=1 if large else BASELINES_AFTER,
                         pinned=[p for p in pinned if config_key(p.config) in kept],
                         learned=learned, n_learned=n_learned)


def learned_picks(learner, metafeatures: Mapping[str, float], families: Collection[str],
                  n: int, seed: int = 0, valid=None) -> Learned:
    """The hp-learner's proposals for a task: it is adapted on the losses seen so far
    (when at least :data:`MIN_ADAPT` are known), then ranks a random sample of its search
    space; the best, of the searched ``families`` and ``valid`` in the fit's space, are
    handed out (see :func:`autometa.hplearner.propose`). Unlike the portfolio's
    candidates, they are not screened by expected time: the learner predicts losses only.
    """
    from autometa.hplearner import propose
    from autometa.metalearning.build import space_for
    from autometa.space import configuration

    space = space_for(learner.task)

    def learned(tried: Tried, keys: set) -> list[Pick]:
        arrays, losses = [], []
        for config, loss in tried:
            try:
                vector = configuration(space, config).get_array()
            except Exception:  # not of the learner's space (e.g. a target transformation)
                continue
            if loss is not None:
                arrays.append(vector)
                losses.append(loss)
        model = learner
        if len(losses) >= MIN_ADAPT:
            model = learner.adapted(metafeatures, np.vstack(arrays), np.array(losses))
        configs = propose(model, space, metafeatures, n=4 * n, seed=seed, exclude=keys)
        return [Pick(c, LEARNED_ORIGIN) for c in configs
                if c.get("model") in families and (valid is None or valid(c))]

    return learned


def baselines(families: Collection[str], task: str) -> list[dict]:
    """The default configurations of the :data:`BASELINES` families that are searched: a
    safety net, so that the ensemble can lose to a default model only by validation
    noise."""
    from autometa.components import registry
    from autometa.space import family_default

    specs = registry()
    return [family_default(specs[name], task) for name in BASELINES if name in families]
