"""Fit AutoMetaRegressor on scikit-learn's diabetes data and report test scores.

Usage: python examples/regression.py [TIME_BUDGET_SECONDS]
"""

import sys

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

from autometa import AutoMetaRegressor


def main(budget: float) -> None:
    X, y = load_diabetes(return_X_y=True, as_frame=True, scaled=False)
    X["sex"] = X["sex"].map({1.0: "F", 2.0: "M"}).astype("category")  # a real categorical
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

    reg = AutoMetaRegressor(time_budget=budget, random_state=0, verbose=1)
    reg.fit(X_train, y_train)

    board = reg.leaderboard()
    print(board.head(8).drop(columns=["config", "error"]).to_string(index=False))
    print(f"\n{len(board)} trials in {reg.fit_time_:.1f} s (budget {budget:g} s); "
          f"optimised {reg.metric_.name}")
    pred = reg.predict(X_test)
    baseline = np.full_like(pred, y_train.mean())
    print(f"test RMSE: {root_mean_squared_error(y_test, pred):7.2f}   "
          f"(predicting the mean: {root_mean_squared_error(y_test, baseline):.2f})")
    print(f"test MAE:  {mean_absolute_error(y_test, pred):7.2f}")
    print(f"test R^2:  {r2_score(y_test, pred):7.3f}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 30)
