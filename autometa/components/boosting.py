"""Gradient-boosted trees: LightGBM, XGBoost and scikit-learn's HistGradientBoosting."""

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
from autometa.components.preprocessing import tree_encoding_space, tree_preprocessing
from autometa.task import CLASSIFICATION, REGRESSION

BOTH = (CLASSIFICATION, REGRESSION)


def _weighting(task: str) -> list:
    return [choice("balanced", [False, True])] if task == CLASSIFICATION else []


def _lightgbm_space(task: str):
    enc, cond = tree_encoding_space(native=True)
    hps = [
        log_int("n_estimators", 16, 1024, 100),
        log_float("learning_rate", 0.005, 0.5, 0.1),
        log_int("num_leaves", 4, 256, 31),
        log_int("min_child_samples", 2, 128, 20),
        Float("subsample", (0.5, 1.0), default=1.0),
        Float("colsample_bytree", (0.3, 1.0), default=1.0),
        log_float("reg_alpha", 1e-8, 10.0, 1e-8),
        log_float("reg_lambda", 1e-8, 10.0, 1e-8),
    ]
    return subspace(hps + enc + _weighting(task), cond)


def _lightgbm_build(p: dict[str, Any], ctx: BuildContext):
    import lightgbm as lgb

    cls = lgb.LGBMClassifier if ctx.is_classification else lgb.LGBMRegressor
    extra = {"class_weight": class_weight(p)} if ctx.is_classification else {}
    model = cls(
        n_estimators=p["n_estimators"],
        learning_rate=p["learning_rate"],
        num_leaves=p["num_leaves"],
        min_child_samples=p["min_child_samples"],
        subsample=p["subsample"],
        subsample_freq=1 if p["subsample"] < 1.0 else 0,
        colsample_bytree=p["colsample_bytree"],
        reg_alpha=p["reg_alpha"],
        reg_lambda=p["reg_lambda"],
        random_state=ctx.seed,
        n_jobs=ctx.n_threads,
        verbose=-1,
        **extra,
    )
    return Pipeline([("prep", tree_preprocessing(p, ctx)), ("model", model)])


def _xgboost_space(task: str):
    enc, cond = tree_encoding_space(native=True)
    hps = [
        log_int("n_estimators", 16, 1024, 100),
        log_float("learning_rate", 0.005, 0.5, 0.3),
        Integer("max_depth", (1, 12), default=6),
        log_float("min_child_weight", 0.01, 100.0, 1.0),
        Float("subsample", (0.5, 1.0), default=1.0),
        Float("colsample_bytree", (0.3, 1.0), default=1.0),
        log_float("reg_alpha", 1e-8, 10.0, 1e-8),
        log_float("reg_lambda", 1e-3, 100.0, 1.0),
    ]
    return subspace(hps + enc, cond)


def _xgboost_build(p: dict[str, Any], ctx: BuildContext):
    import xgboost as xgb

    cls = xgb.XGBClassifier if ctx.is_classification else xgb.XGBRegressor
    model = cls(
        n_estimators=p["n_estimators"],
        learning_rate=p["learning_rate"],
        max_depth=p["max_depth"],
        min_child_weight=p["min_child_weight"],
        subsample=p["subsample"],
        colsample_bytree=p["colsample_bytree"],
        reg_alpha=p["reg_alpha"],
        reg_lambda=p["reg_lambda"],
        tree_method="hist",
        enable_categorical=True,
        max_cat_to_onehot=1,
        random_state=ctx.seed,
        n_jobs=ctx.n_threads,
        verbosity=0,
    )
    return Pipeline([("prep", tree_preprocessing(p, ctx)), ("model", model)])


def _hist_gb_space(task: str):
    enc, cond = tree_encoding_space(native=True)
    hps = [
        log_int("max_iter", 16, 512, 100),
        log_float("learning_rate", 0.01, 0.5, 0.1),
        log_int("max_leaf_nodes", 4, 256, 31),
        log_int("min_samples_leaf", 2, 200, 20),
        log_float("l2_regularization", 1e-8, 10.0, 1e-8),
        Float("max_features", (0.3, 1.0), default=1.0),
    ]
    return subspace(hps + enc + _weighting(task), cond)


def _hist_gb_build(p: dict[str, Any], ctx: BuildContext):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingClassifier if ctx.is_classification else (
        HistGradientBoostingRegressor
    )
    extra = {"class_weight": class_weight(p)} if ctx.is_classification else {}
    model = cls(
        max_iter=p["max_iter"],
        learning_rate=p["learning_rate"],
        max_leaf_nodes=p["max_leaf_nodes"],
        min_samples_leaf=p["min_samples_leaf"],
        l2_regularization=p["l2_regularization"],
        max_features=p["max_features"],
        categorical_features="from_dtype",
        early_stopping=False,
        random_state=ctx.seed,
        **extra,
    )
    prep = tree_preprocessing(p, ctx, native_max=250)
    return Pipeline([("prep", prep), ("model", model)])


LIGHTGBM = ModelSpec("lightgbm", BOTH, _lightgbm_space, _lightgbm_build)
XGBOOST = ModelSpec("xgboost", BOTH, _xgboost_space, _xgboost_build)
HIST_GB = ModelSpec("hist_gradient_boosting", BOTH, _hist_gb_space, _hist_gb_build)
