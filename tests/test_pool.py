"""The sandbox pool: jobs, results, and fold models sent with a worker's best trials."""

import time

import numpy as np

from autometa import data as tabular
from autometa.components import registry
from autometa.evaluation import predict_pipeline, prepare_task
from autometa.pool import LocalPool
from autometa.sandbox import Job
from autometa.space import family_default
from tests.conftest import mixed_frame


def _data():
    X, y = mixed_frame(120)
    schema = tabular.learn_schema(X)
    target = tabular.check_target(y, len(X), "classification", "t")
    return prepare_task(schema.transform(X), target.y, "classification",
                        categorical=schema.categorical_names,
                        cardinalities=tuple(schema.cardinalities), n_classes=2, metric=None,
                        resampling=3, seed=0, specs=registry())


def test_fold_models_come_back_only_with_a_workers_new_best():
    data = _data()
    pool = LocalPool(1)
    try:
        pool.set_data(data)
        names = ("linear", "knn", "linear")
        results = []
        for i, name in enumerate(names):
            config = family_default(registry()[name], "classification")
            pool.submit(Job(i, "evaluate", config, 0, time.monotonic() + 120, 60))
            while not (done := pool.wait(1.0)):
                pass
            results += done
        outcomes = [r.value for r in results]
        assert outcomes[0].models is not None
        assert (outcomes[1].models is not None) == (outcomes[1].loss < outcomes[0].loss)
        assert outcomes[2].models is None  # same loss as the first: not a new best
        proba = predict_pipeline(outcomes[0].models, data.X, "classification", 2)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    finally:
        pool.close()
