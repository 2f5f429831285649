"""scikit-learn conformance: the official estimator checks, composition and cloning."""

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from autometa import AutoMetaClassifier, AutoMetaRegressor


def tiny(cls, **kwargs):
    """An estimator shrunk for speed: two fast families, three trials."""
    params = dict(time_budget=20, max_evals=3, include=["linear", "knn"], ensemble_size=5)
    return cls(**{**params, **kwargs})


# Integer weights are not rows repeated: the resampling splits are unweighted (repeated
# rows fall into other folds), weights are scaled to a mean of 1, and knn is searched only
# without weights.
WEIGHTS_ARE_NOT_REPEATS = "integer sample weights are not repeated rows for a search"


@parametrize_with_checks(
    [tiny(AutoMetaClassifier), tiny(AutoMetaRegressor)],
    expected_failed_checks=lambda estimator: {
        "check_sample_weight_equivalence_on_dense_data": WEIGHTS_ARE_NOT_REPEATS,
        "check_sample_weight_equivalence_on_sparse_data": WEIGHTS_ARE_NOT_REPEATS,
    },
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_clone_keeps_parameters():
    est = AutoMetaClassifier(time_budget=7, include=["knn"], random_state=3)
    assert clone(est).get_params() == est.get_params()


def test_inside_pipeline_cross_val_score_and_grid_search(mixed):
    X, y = mixed
    pipe = make_pipeline(FunctionTransformer(), tiny(AutoMetaClassifier, random_state=0))
    scores = cross_val_score(pipe, X, y, cv=2, scoring="accuracy")
    assert scores.shape == (2,) and np.all(scores > 0.6)
    grid = GridSearchCV(tiny(AutoMetaClassifier, random_state=0),
                        {"time_budget": [10, 20]}, cv=2)
    grid.fit(X, y)
    assert grid.best_params_["time_budget"] in (10, 20)


def test_the_regressor_takes_every_parameter_of_the_classifier():
    from autometa import AutoMetaClassifier, AutoMetaRegressor

    shared = set(AutoMetaClassifier().get_params())
    assert set(AutoMetaRegressor().get_params()) == shared | {"target_transform"}
