"""scikit-learn model families: random forest, extra trees, linear, k-NN and MLP."""

from __future__ import annotations

from typing import Any

from ConfigSpace import Float, Integer
from sklearn.pipeline import Pipeline

from autometa.components.base import (
    BuildContext,
    ModelSpec,
    choice,
    class_weight,
    log_float,
    log_int,
    subspace,
)
from autometa.components.preprocessing import (
    scaled_preprocessing,
    scaled_space,
    tree_encoding_space,
    tree_preprocessing,
)
from autometa.task import CLASSIFICATION, REGRESSION

BOTH = (CLASSIFICATION, REGRESSION)


def _forest_space(bootstrap_default: bool):
    def space(task: str):
        enc, cond = tree_encoding_space(native=False)
        hps = [
            log_int("n_estimators", 32, 512, 100),
            Float("max_features", (0.05, 1.0), default=0.5),
            log_int("min_samples_leaf", 1, 32, 1),
            log_int("min_samples_split", 2, 32, 2),
            choice("bootstrap", [bootstrap_default, not bootstrap_default]),
        ]
        if task == CLASSIFICATION:
            hps += [choice("criterion", ["gini", "entropy"]), choice("balanced", [False, True])]
        return subspace(hps + enc, cond)

    return space


def _forest_build(extra_trees: bool):
    def build(p: dict[str, Any], ctx: BuildContext):
        from sklearn import ensemble

        name = ("ExtraTrees" if extra_trees else "RandomForest") + (
            "Classifier" if ctx.is_classification else "Regressor"
        )
        extra = (
            {"criterion": p["criterion"], "class_weight": class_weight(p)}
            if ctx.is_classification
            else {}
        )
        model = getattr(ensemble, name)(
            n_estimators=p["n_estimators"],
            max_features=p["max_features"],
            min_samples_leaf=p["min_samples_leaf"],
            min_samples_split=p["min_samples_split"],
            bootstrap=p["bootstrap"],
            random_state=ctx.seed,
            n_jobs=ctx.n_threads,
            **extra,
        )
        return Pipeline([("prep", tree_preprocessing(p, ctx)), ("model", model)])

    return build


def _linear_space(task: str):
    if task == CLASSIFICATION:
        hps = [log_float("C", 1e-4, 1e4, 1.0), choice("balanced", [False, True])]
    else:
        hps = [log_float("alpha", 1e-4, 1e4, 1.0)]
    return subspace(hps + scaled_space())


def _linear_build(p: dict[str, Any], ctx: BuildContext):
    from sklearn.linear_model import LogisticRegression, Ridge

    if ctx.is_classification:
        model = LogisticRegression(C=p["C"], class_weight=class_weight(p), max_iter=500)
    else:
        model = Ridge(alpha=p["alpha"])
    return Pipeline([("prep", scaled_preprocessing(p, ctx)), ("model", model)])


def _knn_space(task: str):
    hps = [
        log_int("n_neighbors", 1, 100, 5),
        choice("weights", ["uniform", "distance"]),
        Integer("p", (1, 2), default=2),
    ]
    return subspace(hps + scaled_space())


def _knn_build(p: dict[str, Any], ctx: BuildContext):
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    cls = KNeighborsClassifier if ctx.is_classification else KNeighborsRegressor
    k = max(1, min(p["n_neighbors"], ctx.n_rows // 2))
    model = cls(n_neighbors=k, weights=p["weights"], p=p["p"], n_jobs=ctx.n_threads)
    return Pipeline([("prep", scaled_preprocessing(p, ctx)), ("model", model)])


def _mlp_space(task: str):
    hps = [
        Integer("n_layers", (1, 3), default=1),
        log_int("n_units", 16, 256, 64),
        log_float("alpha", 1e-7, 1e-1, 1e-4),
        log_float("learning_rate_init", 1e-4, 1e-1, 1e-3),
        choice("activation", ["relu", "tanh"]),
    ]
    return subspace(hps + scaled_space())


def _mlp_build(p: dict[str, Any], ctx: BuildContext):
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    cls = MLPClassifier if ctx.is_classification else MLPRegressor
    model = cls(
        hidden_layer_sizes=(p["n_units"],) * p["n_layers"],
        alpha=p["alpha"],
        learning_rate_init=p["learning_rate_init"],
        activation=p["activation"],
        early_stopping=ctx.n_rows >= 200,
        max_iter=200,
        random_state=ctx.seed,
    )
    return Pipeline([("prep", scaled_preprocessing(p, ctx)), ("model", model)])


RANDOM_FOREST = ModelSpec("random_forest", BOTH, _forest_space(True), _forest_build(False))
EXTRA_TREES = ModelSpec("extra_trees", BOTH, _forest_space(False), _forest_build(True))
LINEAR = ModelSpec("linear", BOTH, _linear_space, _linear_build)
KNN = ModelSpec("knn", BOTH, _knn_space, _knn_build, sample_weight=False)
MLP = ModelSpec("mlp", BOTH, _mlp_space, _mlp_build)
