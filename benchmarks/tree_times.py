"""How a boosted tree's time grows with its rows and its leaves, and how well the cost
model foretells it.

Times XGBoost, LightGBM and histogram gradient boosting alone (100 trees, one thread) on
1,500, 8,000 and 24,000 rows of ``bench_large.py``'s table (50 columns, 10 categorical),
over a grid of leaf caps (XGBoost's depth, the others' leaf count) and leaf minimums.
Prints:

* for each family, the log error of "a tree takes the time of its rows plus K per leaf"
  (leaves bounded as :meth:`autometa.cost.CostModel.leaves` bounds them) for several K:
  the one at ``LEAF_ROWS`` should be near the smallest;
* the ratio of each measured time to the shipped portfolio's prior
  (:class:`autometa.cost.CostModel`), and their spread (largest over smallest) per family:
  the search calibrates one ratio per family, so a small spread is what counts.

Usage: python benchmarks/tree_times.py
"""

from __future__ import annotations

import time

import numpy as np
from bench_large import synthetic

from autometa.components import registry
from autometa.cost import HESSIAN, LEAF_ROWS, CostModel
from autometa.portfolio import load
from autometa.space import build_space, family_default

ROWS = (1500, 8000, 24000)
TREES = 100
GRID = {  # family: (leaf caps, leaf minimums, hyperparameter names of trees, cap, minimum)
    "xgboost": ((3, 6, 10, 12), (1.66, 20.0), ("n_estimators", "max_depth", "min_child_weight")),
    "lightgbm": ((8, 64, 256), (2, 50), ("n_estimators", "num_leaves", "min_child_samples")),
    "hist_gradient_boosting": ((8, 64, 256), (2, 50),
                               ("max_iter", "max_leaf_nodes", "min_samples_leaf")),
}


def model(family: str, cap: float, least: float):
    """The family's estimator on 100 trees with this leaf cap and minimum."""
    if family == "xgboost":
        from xgboost import XGBClassifier
        return XGBClassifier(n_estimators=TREES, max_depth=cap, min_child_weight=least,
                             learning_rate=0.03, tree_method="hist", enable_categorical=True,
                             max_cat_to_onehot=1, n_jobs=1)
    if family == "lightgbm":
        from lightgbm import LGBMClassifier
        return LGBMClassifier(n_estimators=TREES, num_leaves=cap, min_child_samples=least,
                              learning_rate=0.03, n_jobs=1, verbose=-1)
    from sklearn.ensemble import HistGradientBoostingClassifier
    return HistGradientBoostingClassifier(max_iter=TREES, max_leaf_nodes=cap,
                                          min_samples_leaf=least, learning_rate=0.03,
                                          early_stopping=False, categorical_features="from_dtype")


def timings(family: str, X, y) -> list[tuple[int, float, float, float]]:
    """(rows, cap, minimum, seconds) of each fit of the family's grid."""
    caps, leasts, _ = GRID[family]
    out = []
    for rows in ROWS:
        for cap in caps:
            for least in leasts:
                start = time.perf_counter()
                model(family, cap, least).fit(X.iloc[:rows], y[:rows])
                out.append((rows, cap, least, time.perf_counter() - start))
    return out


def leaf_fit(family: str, runs) -> str:
    """Log error of time ~ rows + K * leaves for several K."""
    rows, cap, least, seconds = map(np.array, zip(*runs, strict=True))
    leaves = np.minimum(2.0 ** cap, rows * HESSIAN / least) if family == "xgboost" \
        else np.minimum(cap, rows / least)
    errors = []
    for k in (0, 100, 300, 1000):
        work = rows + k * leaves
        log_ratio = np.log(seconds / work)
        errors.append(f"K={k}: {np.std(log_ratio):.2f}")
    return ", ".join(errors)


def prior_ratios(family: str, runs, cost: CostModel) -> np.ndarray:
    """Measured over the prior's seconds of each fit."""
    names = GRID[family][2]
    base = family_default(registry()[family], "classification")
    ratios = []
    for rows, cap, least, seconds in runs:
        config = {**base, **{f"{family}:{n}": v for n, v in zip(names, (TREES, cap, least),
                                                                  strict=True)}}
        ratios.append(seconds / cost.seconds(config, rows, []))
    return np.array(ratios)


def main() -> None:
    X, y = synthetic(max(ROWS))
    portfolio = load("classification")
    space = build_space("classification", list(registry().values()), seed=0)
    cost = CostModel(space, portfolio.configs, portfolio.expected_seconds(1.0, 2),
                     source_rows=portfolio.split_rows)
    print(f"LEAF_ROWS = {LEAF_ROWS}")
    for family in GRID:
        runs = timings(family, X, y)
        ratios = prior_ratios(family, runs, cost)
        print(f"{family}: log error of rows + K per leaf: {leaf_fit(family, runs)}")
        print(f"  measured / prior: {' '.join(f'{r:.2f}' for r in ratios)}; "
              f"spread {ratios.max() / ratios.min():.1f}")


if __name__ == "__main__":
    main()
