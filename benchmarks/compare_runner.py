"""Fit one system on one prepared train/test split and save its test predictions.

Run by ``benchmarks/compare.py`` in a subprocess, with the interpreter of the system's
virtual environment (autometa's ``.venv``, or ``.venv-flaml`` / ``.venv-autogluon`` for the
peers), so this file imports only numpy, pandas and the system's own library.

Usage: python compare_runner.py SYSTEM SPLITDIR RUNDIR

``SPLITDIR`` holds ``X_train.parquet``, ``X_test.parquet``, ``y_train.npy`` and ``meta.json``
(written by compare.py); the runner writes to ``RUNDIR`` ``pred.npy`` (class probabilities
with columns 0..n_classes-1, or predicted values) and ``result.json`` (fit seconds, predict
seconds per 1,000 rows, versions, system-specific notes).
"""

from __future__ import annotations

import faulthandler
import importlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PREDICT_ROWS = 1_000
PREDICT_REPEATS = 3
HGB_MAX_CATEGORIES = 255  # HistGradientBoosting's native categorical limit (max_bins)


# -- systems: each returns (fitted model, predict function, notes) ------------------------------


INFER_LIMIT = 1e-5  # seconds per row of system autometa-fast: 10 ms per 1,000 rows
VARIANTS = {  # systems that are autometa with other settings
    "autometa-noloo": {},
    "autometa-fast": {"infer_limit": INFER_LIMIT},
    "autometa-raw": {"target_transform": "none"},  # regression targets never transformed
    "autometa-boundary": {"proxy_subsets": "boundary"},  # boundary-aware proxy subsets
}


def fit_autometa(X: pd.DataFrame, y: np.ndarray, meta: dict) -> tuple[Any, Any, dict]:
    """autometa at the budget; its portfolio without the task's group unless told not to;
    the systems of :data:`VARIANTS` with their settings."""
    from autometa import AutoMetaClassifier, AutoMetaRegressor

    task = task_type(meta)
    portfolio, notes = portfolio_for(meta)
    cls = AutoMetaRegressor if task == "regression" else AutoMetaClassifier
    settings = dict(VARIANTS.get(meta.get("system"), {}))
    if task != "regression":
        settings.pop("target_transform", None)
    limit = settings.get("infer_limit")
    model = cls(time_budget=meta["budget"], n_jobs=meta["n_jobs"], random_state=meta["seed"],
                portfolio=portfolio, **settings)
    model.fit(X, y)
    notes.update({"n_trials": len(model.trials_),
                  "ensemble_members": len(model.ensemble_.members),
                  "initial_configs": len(getattr(model, "initial_configs_", None) or []),
                  "predict_latency": model.predict_latency_, "infer_limit": limit,
                  "temperature": getattr(model, "temperature_", None)})
    return model, _predictor(model, meta), notes


def task_type(meta: dict) -> str:
    """autometa's task type of a benchmark task."""
    return "regression" if meta["type"] == "regression" else "classification"


def portfolio_for(meta: dict):
    """The portfolio autometa starts from (without the task's group unless told otherwise),
    and notes on what was held out."""
    from autometa import portfolio as pf

    shipped = pf.load(task_type(meta))
    portfolio = shipped.without([meta["group"]]) if meta["portfolio"] == "loo" else shipped
    group = set(meta["group_tasks"])
    notes = {"portfolio": meta["portfolio"],
             "shipped_tasks": len(shipped.tasks),
             "shipped_built": shipped.provenance.get("built"),
             "portfolio_tasks": len(portfolio.tasks),
             "portfolio_candidates": len(portfolio.configs),
             "held_out_tasks": len(shipped.tasks) - len(portfolio.tasks),
             "held_out_candidates": len(shipped.configs) - len(portfolio.configs),
             "group_seen": bool(group & set(portfolio.tasks) or group & set(portfolio.sources)
                                or meta["group"] in portfolio.source_groups)}
    return portfolio, notes


def fit_lightgbm(X: pd.DataFrame, y: np.ndarray, meta: dict) -> tuple[Any, Any, dict]:
    """Default LightGBM; ``category`` columns used natively."""
    import lightgbm as lgb

    cls = lgb.LGBMRegressor if meta["type"] == "regression" else lgb.LGBMClassifier
    model = cls(n_jobs=meta["n_jobs"], random_state=meta["seed"], verbose=-1).fit(X, y)
    return model, _predictor(model, meta), {}


def fit_hgb(X: pd.DataFrame, y: np.ndarray, meta: dict) -> tuple[Any, Any, dict]:
    """Default HistGradientBoosting; ``category`` columns native (ordinal codes above 255
    categories, its limit); missing values native."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    wide = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)
            and len(X[c].cat.categories) > HGB_MAX_CATEGORIES]

    def encode(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        for c in wide:
            frame[c] = frame[c].cat.codes.replace(-1, np.nan).astype(float)
        return frame

    cls = (HistGradientBoostingRegressor if meta["type"] == "regression"
           else HistGradientBoostingClassifier)
    model = cls(categorical_features="from_dtype", random_state=meta["seed"]).fit(encode(X), y)
    return model, _predictor(model, meta, encode), {"ordinal_coded": wide}


def fit_rf(X: pd.DataFrame, y: np.ndarray, meta: dict) -> tuple[Any, Any, dict]:
    """Default random forest; ``category`` columns as ordinal codes (missing = -1), missing
    numeric values imputed by the training median."""
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    medians = X.drop(columns=categorical).median(numeric_only=True)

    def encode(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        for c in categorical:
            frame[c] = frame[c].cat.codes.astype(float)
        return frame.fillna(medians).astype(float)

    cls = RandomForestRegressor if meta["type"] == "regression" else RandomForestClassifier
    model = cls(n_jobs=meta["n_jobs"], random_state=meta["seed"]).fit(encode(X), y)
    return model, _predictor(model, meta, encode), {}


FLAML_METRICS = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}


def fit_flaml(X: pd.DataFrame, y: np.ndarray, meta: dict) -> tuple[Any, Any, dict]:
    """FLAML's AutoML at the budget, optimising the benchmark's metric."""
    from flaml import AutoML

    model = AutoML()
    model.fit(X, y, task="regression" if meta["type"] == "regression" else "classification",
              metric=FLAML_METRICS[meta["type"]], time_budget=meta["budget"],
              n_jobs=meta["n_jobs"], seed=meta["seed"], verbose=0)
    return model, _predictor(model, meta), {"best_estimator": model.best_estimator}


AUTOGLUON_METRICS = {"binary": "roc_auc", "multiclass": "log_loss",
                     "regression": "root_mean_squared_error"}


def fit_autogluon(X: pd.DataFrame, y: np.ndarray, meta: dict) -> tuple[Any, Any, dict]:
    """AutoGluon-Tabular at the budget, on ``n_jobs`` CPUs: its default preset, or
    ``presets="best_quality"`` as system ``autogluon-best``."""
    from autogluon.tabular import TabularPredictor

    label = "__label__"
    model = TabularPredictor(label=label, problem_type=meta["type"],
                             eval_metric=AUTOGLUON_METRICS[meta["type"]],
                             path=str(Path(meta["workdir"]) / "autogluon"), verbosity=0)
    presets = "best_quality" if meta.get("system") == "autogluon-best" else None
    model.fit(X.assign(**{label: y}), time_limit=meta["budget"], num_cpus=meta["n_jobs"],
              num_gpus=0, presets=presets)

    def predict(frame: pd.DataFrame) -> np.ndarray:
        if meta["type"] == "regression":
            return model.predict(frame).to_numpy(dtype=float)
        proba = model.predict_proba(frame, as_multiclass=True)
        return align_proba(proba.to_numpy(dtype=float), list(proba.columns), meta["n_classes"])

    return model, predict, {"best_model": model.model_best}


SYSTEMS = {"autometa": fit_autometa, **dict.fromkeys(VARIANTS, fit_autometa),
           "lightgbm": fit_lightgbm, "hgb": fit_hgb, "rf": fit_rf, "flaml": fit_flaml,
           "autogluon": fit_autogluon, "autogluon-best": fit_autogluon}
MODULES = {"autometa": ["autometa", "autometa.portfolio"], "lightgbm": ["lightgbm"],
           "hgb": ["sklearn.ensemble"], "rf": ["sklearn.ensemble"], "flaml": ["flaml"],
           "autogluon": ["autogluon.tabular"]}  # imported before the fit clock starts
LIBRARIES = {"autometa": ["autometa", "scikit-learn", "lightgbm", "xgboost", "smac"],
             "lightgbm": ["lightgbm"], "hgb": ["scikit-learn"], "rf": ["scikit-learn"],
             "flaml": ["flaml", "lightgbm", "xgboost", "scikit-learn"],
             "autogluon": ["autogluon.tabular", "lightgbm", "catboost", "xgboost", "xgboost-cpu",
                           "torch", "fastai"]}
for _variant, _base in [*((v, "autometa") for v in VARIANTS), ("autogluon-best", "autogluon")]:
    MODULES[_variant], LIBRARIES[_variant] = MODULES[_base], LIBRARIES[_base]


# -- prediction ---------------------------------------------------------------------------------


def _predictor(model, meta: dict, encode=None):
    """``predict(X)``: probabilities aligned to classes 0..K-1, or regression values."""

    def predict(frame: pd.DataFrame) -> np.ndarray:
        frame = encode(frame) if encode is not None else frame
        if meta["type"] == "regression":
            return np.asarray(model.predict(frame), dtype=float)
        return align_proba(np.asarray(model.predict_proba(frame), dtype=float),
                      list(model.classes_), meta["n_classes"])

    return predict


def align_proba(proba: np.ndarray, classes: list, n_classes: int) -> np.ndarray:
    """Probability columns placed at their (integer) class index; absent classes get 0."""
    out = np.zeros((len(proba), n_classes))
    out[:, [int(c) for c in classes]] = proba
    return out


def predict_seconds_per_1000(predict, X: pd.DataFrame) -> float:
    """Median seconds of predicting a batch of 1,000 test rows (repeated when fewer)."""
    batch = X.iloc[np.arange(PREDICT_ROWS) % len(X)].reset_index(drop=True)
    times = []
    for _ in range(PREDICT_REPEATS):
        start = time.perf_counter()
        predict(batch)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def member_breakdown(model, X: pd.DataFrame) -> dict:
    """Where an autometa ensemble's prediction time goes on the 1,000-row batch: the
    input checks and typing, and each member (family, weight, fold models or one refit
    model, median milliseconds of its own prediction)."""
    from autometa.evaluation import FoldAverage, predict_pipeline

    batch = X.iloc[np.arange(PREDICT_ROWS) % len(X)].reset_index(drop=True)
    frame = model._transform(batch)
    ensemble, families = model.ensemble_, {t.id: t.family for t in model.trials_}

    def ms(call) -> float:
        times = []
        for _ in range(PREDICT_REPEATS):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        return round(1000 * float(np.median(times)), 2)

    members = [{"family": families[m.trial], "weight": round(m.weight, 4),
                "folds": len(m.pipeline.pipelines) if isinstance(m.pipeline, FoldAverage) else 0,
                "ms": ms(lambda m=m: predict_pipeline(m.pipeline, frame, ensemble.task,
                                                      ensemble.n_classes))}
               for m in ensemble.members]
    return {"transform_ms": ms(lambda: model._transform(batch)), "members": members,
            "concurrent": bool(getattr(ensemble, "concurrent", False))}


def versions(names: list[str]) -> dict[str, str]:
    """Installed versions of the given distributions (those that are installed)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def main(system: str, split: Path, workdir: Path) -> None:
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # compare.py asks before a kill
    meta = {**json.loads((split / "meta.json").read_text()), "workdir": str(workdir)}
    X_train = pd.read_parquet(split / "X_train.parquet")
    X_test = pd.read_parquet(split / "X_test.parquet")
    y_train = np.load(split / "y_train.npy")
    for module in MODULES[system]:
        importlib.import_module(module)
    start = time.perf_counter()
    model, predict, notes = SYSTEMS[system](X_train, y_train, meta)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    pred = predict(X_test)
    test_predict_s = time.perf_counter() - start
    np.save(workdir / "pred.npy", pred)
    per_1000 = predict_seconds_per_1000(predict, X_test)
    if system.startswith("autometa"):
        notes["predict_breakdown"] = member_breakdown(model, X_test)
    result = {"fit_s": fit_s, "test_predict_s": test_predict_s,
              "predict_s_per_1000": per_1000,
              "versions": {"python": sys.version.split()[0], **versions(LIBRARIES[system])},
              "notes": notes, "pid": os.getpid()}
    (workdir / "result.json").write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in SYSTEMS:
        raise SystemExit(f"usage: {sys.argv[0]} {{{','.join(SYSTEMS)}}} SPLITDIR RUNDIR")
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
