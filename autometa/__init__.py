"""autometa: meta-learned AutoML for tabular data.

``AutoMetaClassifier`` and ``AutoMetaRegressor`` choose model families and their
hyperparameters together with SMAC, warm-started from a meta-learned portfolio,
and combine the best pipelines by ensemble selection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autometa.estimators import AutoMetaClassifier, AutoMetaRegressor

__version__ = "0.1.0"

__all__ = ["AutoMetaClassifier", "AutoMetaRegressor", "__version__"]


def __getattr__(name: str):
    # The estimators (and scikit-learn behind them) are imported on first use, so that
    # `autometa --help` and the command line's error messages come without that wait.
    if name in ("AutoMetaClassifier", "AutoMetaRegressor"):
        from autometa import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'autometa' has no attribute {name!r}")
