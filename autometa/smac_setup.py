"""SMAC3 set up for autometa's search: the facade, its surrogate, its intensifier (one
evaluation per configuration, or successive halving / Hyperband over training rows), its
acquisition (expected improvement, per second under successive halving: see
:mod:`autometa.acquisition`) and an acquisition maximizer that proposes the same trials
in every process.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from ConfigSpace import ConfigurationSpace

if TYPE_CHECKING:
    from autometa.search import SearchSettings

INTENSIFIERS = ("successive_halving", "hyperband")
ETA = 3  # successive halving keeps a third of a rung's configurations for the next


@dataclass(frozen=True)
class MultiFidelity:
    """Successive halving over training rows.

    Attributes
    ----------
    intensifier : {"successive_halving", "hyperband"}
        SMAC's intensifier.
    max_rows : int
        Training rows per split of the highest rung (all rows).
    n_rungs : int
        Rungs of the longest bracket (at least 2); rung ``k`` from the top trains on
        ``max_rows / eta**k`` rows.
    eta : int
        One in ``eta`` configurations of a rung is promoted to the next.
    """

    intensifier: str
    max_rows: int
    n_rungs: int
    eta: int = ETA

    def __post_init__(self) -> None:
        if self.intensifier not in INTENSIFIERS:
            raise ValueError(f"intensifier must be one of {INTENSIFIERS}, got "
                             f"{self.intensifier!r}.")
        if self.n_rungs < 2 or self.eta < 2:
            raise ValueError(f"successive halving needs n_rungs >= 2 and eta >= 2, got "
                             f"{self.n_rungs} and {self.eta}.")

    @property
    def rungs(self) -> list[int]:
        """Training rows of each rung of the longest bracket, lowest first."""
        return [round(self.max_rows / self.eta ** k) for k in range(self.n_rungs - 1, -1, -1)]


def random_forest(space: ConfigurationSpace, seed: int):
    """SMAC's random forest, made cheap: its default uses all cores and preallocates 2**20
    leaves per tree, which costs about a second per retraining; this one milliseconds."""
    from smac.model.random_forest import RandomForest

    return RandomForest(space, log_y=True, n_trees=10, ratio_features=1.0, min_samples_split=2,
                        min_samples_leaf=1, max_leaf_nodes=None, n_jobs=1, seed=seed)


def make_smac(space: ConfigurationSpace, settings: SearchSettings, output: Path,
              initial_configs: Sequence = ()):
    """SMAC's hyperparameter-optimisation facade for ask/tell use (``initial_configs``:
    configurations SMAC's initial design starts with)."""
    from smac import HyperparameterOptimizationFacade as HPO
    from smac import Scenario

    from autometa.acquisition import acquisition

    scenario = Scenario(
        space,
        deterministic=True,
        n_trials=10**6,
        seed=settings.seed,
        output_directory=output,
        **scenario_budgets(settings.multi_fidelity),
    )
    initial = HPO.get_initial_design(scenario, n_configs=settings.n_random_initial,
                                     additional_configs=list(initial_configs))
    model = (settings.surrogate or random_forest)(space, settings.seed)
    return HPO(
        scenario,
        target_function=None,
        model=model,
        acquisition_function=None if settings.multi_fidelity is None else
        acquisition(settings.cost, settings.multi_fidelity.rungs[0]),
        acquisition_maximizer=in_stable_order(HPO.get_acquisition_maximizer(
            scenario, challengers=2000, local_search_iterations=5
        )),
        initial_design=initial,
        intensifier=make_intensifier(scenario, settings),
        logging_level=logging.ERROR,
        overwrite=True,
    )


def in_stable_order(maximizer):
    """``maximizer`` with its local search started from the same points in the same order
    in every process.

    SMAC's local search dedupes its start points through a ``set`` of configurations,
    whose order follows string hashing, which Python seeds anew in every process: the
    same seed gave other trials from one run of a program to the next. The start points
    are put in the order of their vectors instead.
    """
    local = getattr(maximizer, "_local_search", None)
    starts = getattr(local, "_get_initial_points", None)
    if starts is None:
        return maximizer

    def ordered(*args, **kwargs):
        return sorted(starts(*args, **kwargs), key=_vector_key)

    local._get_initial_points = ordered
    return maximizer


def _vector_key(config) -> tuple[float, ...]:
    return tuple(np.nan_to_num(config.get_array(), nan=-1.0))


def scenario_budgets(multi_fidelity: MultiFidelity | None) -> dict[str, float]:
    """SMAC's ``Scenario`` budgets: the rows of the lowest and of the highest rung."""
    if multi_fidelity is None:
        return {}
    mf = multi_fidelity  # SMAC counts floor(log_eta(max / min)) + 1 rungs:
    low = mf.max_rows / mf.eta ** (mf.n_rungs - 0.5)  # halfway, safe from rounding
    return {"min_budget": low, "max_budget": float(mf.max_rows)}


def make_intensifier(scenario, settings: SearchSettings):
    """One evaluation per configuration, or successive halving / Hyperband over rows."""
    from smac import HyperparameterOptimizationFacade as HPO
    from smac.intensifier import Hyperband, SuccessiveHalving

    mf = settings.multi_fidelity
    if mf is None:
        return HPO.get_intensifier(scenario, max_config_calls=1)
    kind = Hyperband if mf.intensifier == "hyperband" else SuccessiveHalving
    return kind(scenario, eta=mf.eta, seed=settings.seed)


def trial_rows(budget: float | None, multi_fidelity: MultiFidelity | None) -> int | None:
    """Training rows per split of a trial SMAC gave ``budget`` (``None``: all rows)."""
    if multi_fidelity is None or budget is None or round(budget) >= multi_fidelity.max_rows:
        return None
    return round(budget)
