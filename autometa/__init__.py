"""autometa: meta-learned AutoML for tabular data.

``AutoMetaClassifier`` and ``AutoMetaRegressor`` choose model families and their
hyperparameters together with SMAC, warm-started from a meta-learned portfolio,
and combine the best pipelines by ensemble selection.
"""

from autometa.estimators import AutoMetaClassifier, AutoMetaRegressor

__version__ = "0.1.0"

__all__ = ["AutoMetaClassifier", "AutoMetaRegressor", "__version__"]
