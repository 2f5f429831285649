"""What a fitted estimator knows about its search: ``report.json``, plots, ``info`` text.

The plots (best score over the search, scores by family, ensemble weights) are drawn
from the JSON data by :mod:`autometa.plots`, with matplotlib, an optional extra
(``pip install "autometa[plots]"``).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.base import is_classifier, is_regressor

from autometa.io import jsonable, listed
from autometa.latency import DEFAULT_BATCH_SIZE
from autometa.plots import plot_report
from autometa.records import SKIPPED, Trial, finalists
from autometa.task import CLASSIFICATION, REGRESSION
from autometa.threshold import DEFAULT_THRESHOLD
from autometa.versions import library_versions

PLOTS_EXTRA = 'pip install "autometa[plots]"'
NOT_INSTALLED = "not installed"  # how a library absent from an environment is shown
__all__ = ["Report", "info_dict", "info_text", "plot_report", "summarize", "write_report"]


@dataclass(frozen=True)
class Report:
    """What :func:`write_report` wrote.

    Attributes
    ----------
    directory : Path
        The report folder.
    json_path : Path
        ``report.json``.
    plots : tuple of Path
        The PNG files written (empty when plotting was not possible).
    plots_skipped : str
        Why there are no plots (empty when there are).
    """

    directory: Path
    json_path: Path
    plots: tuple[Path, ...] = ()
    plots_skipped: str = ""


def write_report(estimator, directory: str | Path) -> Report:
    """Write ``report.json`` and the plots for a fitted estimator into ``directory``.

    Parameters
    ----------
    estimator : AutoMetaClassifier or AutoMetaRegressor
        A fitted estimator.
    directory : str or Path
        Folder to write into (created if needed).

    Returns
    -------
    Report
        The files written, and why plots were skipped if they were.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    summary = summarize(estimator)
    json_path = directory / "report.json"
    json_path.write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    try:
        import matplotlib  # noqa: F401  (optional extra)
    except ImportError:
        reason = f"matplotlib is not installed; for plots: {PLOTS_EXTRA}"
        return Report(directory, json_path, (), reason)
    return Report(directory, json_path, tuple(plot_report(summary, directory)))


def summarize(estimator) -> dict[str, Any]:
    """Everything the report needs from a fitted estimator, as JSON-ready values.

    Parameters
    ----------
    estimator : AutoMetaClassifier or AutoMetaRegressor
        A fitted estimator (needs ``trials_``; other attributes are used when present).

    Returns
    -------
    dict
        Task, metric, decision threshold (binary classifiers), temperature
        (classifiers), budget and fit time, trial
        counts, the best trial, every trial, the ensemble weights and, if the estimator
        has them, its meta-features and RGPE's weights over the search.
    """
    import autometa

    if not hasattr(estimator, "trials_"):
        raise ValueError("The estimator is not fitted; call fit before writing a report.")
    trials = list(estimator.trials_)
    metric = getattr(estimator, "metric_", None)
    summary = {
        "autometa_version": autometa.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "estimator": type(estimator).__name__,
        "task": _task_of(estimator),
        "classes": _classes(estimator),
        "metric": getattr(metric, "name", None),
        "threshold": getattr(estimator, "threshold_", None),
        "temperature": getattr(estimator, "temperature_", None),
        "time_budget": getattr(estimator, "time_budget", None),
        "fit_time": getattr(estimator, "fit_time_", None),
        "predict_latency": getattr(estimator, "predict_latency_", None),
        "infer_limit": getattr(estimator, "infer_limit", None),
        "latency_batch_size": getattr(estimator, "infer_limit_batch_size", None)
        or DEFAULT_BATCH_SIZE,
        "n_trials": len(trials),
        "n_failed": sum(t.failed for t in trials),
        "status_counts": dict(Counter(t.status for t in trials)),
        "best": _best(trials),
        "trials": trial_rows(trials),
        "ensemble": ensemble_rows(estimator),
        "metafeatures": getattr(estimator, "metafeatures_", None),
        "surrogate_weights": _weights_rows(getattr(estimator, "surrogate_weights_", None)),
    }
    return jsonable(summary)


def _weights_rows(frame) -> dict[str, Any] | None:
    """RGPE's weights over the search (``surrogate_weights_``) as lists, or ``None``."""
    if frame is None or not len(frame):
        return None
    return {"observations": [int(n) for n in frame.index],
            "weights": {str(c): [float(v) for v in frame[c]] for c in frame.columns}}


def _task_of(estimator) -> str | None:
    """``"classification"`` or ``"regression"``, from scikit-learn's estimator type.

    Parameters
    ----------
    estimator : object
        An estimator, e.g. a fitted AutoMetaClassifier or AutoMetaRegressor.

    Returns
    -------
    str or None
        ``None`` for neither, or for an object that is no scikit-learn estimator.
    """
    try:
        if is_classifier(estimator):
            return CLASSIFICATION
        if is_regressor(estimator):
            return REGRESSION
    except AttributeError:  # no scikit-learn tags: not an estimator
        pass
    return None


def trial_rows(trials: list[Trial]) -> list[dict[str, Any]]:
    """One dict per trial in completion order, with the search time at which it ended.

    ``search_time`` is the running sum of the trials' wall times: the elapsed search
    time when trials run one at a time (``n_jobs=1``), an upper bound otherwise.
    """
    rows, clock = [], 0.0
    for t in sorted(trials, key=lambda t: t.id):
        clock += t.wall_time
        rows.append({
            "id": t.id, "family": t.family, "origin": t.origin, "status": t.status,
            "score": None if t.loss is None else -t.loss,
            "fit_time": t.fit_time, "predict_time": t.predict_time,
            "wall_time": t.wall_time, "search_time": clock, "error": t.error,
            "config": t.config, "fidelity": t.fidelity, "trees": t.trees,
            "promoted": t.promoted,
        })
    return rows


def ensemble_rows(estimator) -> list[dict[str, Any]]:
    """Ensemble members (trial, family, weight normalised to sum to 1, training rows:
    ``None`` for all), heaviest first."""
    members = getattr(getattr(estimator, "ensemble_", None), "members", None) or ()
    families = {t.id: t.family for t in getattr(estimator, "trials_", ())}
    total = sum(m.weight for m in members) or 1.0
    rows = [{"trial": m.trial, "family": families.get(m.trial, "?"), "weight": m.weight / total,
             "rows": getattr(m, "rows", None)} for m in members]
    return sorted(rows, key=lambda r: (-r["weight"], r["trial"]))


def _classes(estimator) -> list | None:
    classes = getattr(estimator, "classes_", None)
    return None if classes is None else [c.item() if hasattr(c, "item") else c for c in classes]


def _best(trials: list[Trial]) -> dict[str, Any] | None:
    ok = finalists(trials)
    if not ok:
        return None
    best = min(ok, key=lambda t: (t.loss, t.id))
    return {"trial": best.id, "family": best.family, "origin": best.origin, "score": -best.loss}


# -- describing a model ---------------------------------------------------------------------


def info_dict(bundle: dict[str, Any], path: str | Path = "") -> dict[str, Any]:
    """What ``autometa info`` shows about a loaded model file, as JSON-ready values.

    Parameters
    ----------
    bundle : dict
        A model file's content as returned by :func:`autometa.io.load_model`.
    path : str or Path
        The model file's name.

    Returns
    -------
    dict
        Task, target, metric, decision threshold, temperature, budget, fit time, trial
        counts,
        ensemble, meta-features and library versions (installed, and those the model
        was fitted with).
    """
    estimator = bundle["estimator"]
    summary = summarize(estimator)
    names = getattr(estimator, "feature_names_in_", None)
    keys = ("estimator", "task", "classes", "metric", "threshold", "temperature",
            "time_budget", "fit_time", "predict_latency", "infer_limit", "latency_batch_size",
            "n_trials", "n_failed", "status_counts", "best", "ensemble", "metafeatures")
    info = {"model_file": str(path), "target": bundle.get("target"),
            **{k: summary[k] for k in keys},
            "features": None if names is None else [str(n) for n in names],
            "interrupted": bool(bundle.get("interrupted", False)),
            "task_reason": bundle.get("task_reason"), "data_file": bundle.get("data_file"),
            "n_portfolio_trials": sum(t["origin"] == "portfolio" for t in summary["trials"]),
            "n_experience_trials": sum(t["origin"] == "experience" for t in summary["trials"]),
            "initial_configs": getattr(estimator, "initial_configs_", None),
            "versions": library_versions(), "fitted_with": bundle.get("versions")}
    return jsonable(info)


def info_text(info: dict[str, Any]) -> str:
    """:func:`info_dict` as readable text.

    Parameters
    ----------
    info : dict
        As returned by :func:`info_dict`.

    Returns
    -------
    str
        One ``key: value`` line per item, ensemble members and meta-features indented.
    """
    failures = ", ".join(f"{n} {s}" for s, n in sorted(info["status_counts"].items())
                         if s not in ("ok", SKIPPED))
    skipped = info["status_counts"].get(SKIPPED, 0)
    lines = [f"model:     {info['estimator']} ({info['model_file']})",
             f"task:      {info['task']}"
             + (f" ({len(info['classes'])} classes: {listed(info['classes'])})"
                if info["classes"] else ""),
             *([f"           {info['task_reason']}"] if info.get("task_reason") else []),
             f"target:    {info['target'] or 'unknown'}"
             + (f" (fitted on {info['data_file']})" if info.get("data_file") else ""),
             "features:  " + (f"{len(info['features'])} ({listed(info['features'])})"
                              if info["features"] is not None else "unnamed columns"),
             f"metric:    {info['metric']}",
             *([f"threshold: {threshold_text(info['threshold'], info['classes'], info['metric'])}"]
               if info.get("threshold") is not None else []),
             *([f"proba:     temperature {temperature_text(info['temperature'], info['metric'])}"]
               if info.get("temperature") is not None else []),
             f"budget:    {info['time_budget']:g} s; fit took {info['fit_time']:.1f} s"
             + (" (interrupted)" if info["interrupted"] else ""),
             *([f"predicts:  {latency_text(info)}"] if info.get("predict_latency") else []),
             f"trials:    {info['n_trials']} ({info['n_failed']} failed"
             + (f": {failures}" if failures else "")
             + (f"; {skipped} skipped as too slow" if skipped else "")
             + f"; {info.get('n_portfolio_trials', 0)} from the portfolio"
             + (f", {info['n_experience_trials']} from experience"
                if info.get("n_experience_trials") else "") + ")"]
    if info.get("initial_configs") is not None:
        lines.append(f"portfolio: {_initial_design(info['initial_configs'])}")
    if info["best"]:
        best = info["best"]
        lines.append(f"best:      {best['score']:.5g} ({best['family']}, trial {best['trial']}, "
                     f"{best['origin']})")
    lines.append(f"ensemble:  {len(info['ensemble'])} members")
    lines += [f"  {m['weight']:6.1%}  trial {m['trial']:<4} {m['family']}"
              + (f" (trained on {m['rows']} rows)" if m.get("rows") else "")
              for m in info["ensemble"]]
    if info["metafeatures"]:
        lines.append("metafeatures:")
        lines += [f"  {k}: {_value(v)}" for k, v in sorted(info["metafeatures"].items())]
    current = {k: _version(v) for k, v in info["versions"].items()}
    lines.append("versions:  " + ", ".join(f"{k} {v}" for k, v in current.items()))
    fitted = {k: _version(v) for k, v in (info["fitted_with"] or {}).items()}
    changed = {k: v for k, v in fitted.items() if current.get(k, NOT_INSTALLED) != v}
    if changed:
        lines.append("fitted with different versions: "
                     + ", ".join(f"{k} {v}" for k, v in changed.items()))
    return "\n".join(lines)


def latency_text(info: dict[str, Any]) -> str:
    """The measured prediction time as shown, e.g. ``12.3 ms per 1,000 rows (measured on
    batches of 1,000 rows; limit 20 ms)``.

    Parameters
    ----------
    info : dict
        As returned by :func:`info_dict` (``predict_latency`` must be set).

    Returns
    -------
    str
    """
    per_1000 = 1000 * 1000 * info["predict_latency"]
    text = (f"{per_1000:.3g} ms per 1,000 rows (measured on batches of "
            f"{info['latency_batch_size']:,} rows")
    if info.get("infer_limit"):
        text += f"; limit {1000 * 1000 * info['infer_limit']:.3g} ms"
    return text + ")"


def threshold_text(threshold: float, classes: list, metric: str | None) -> str:
    """A binary model's decision threshold as shown, e.g. ``predict yes when P(yes) >=
    0.2134 (tuned for f1 on validation predictions)``.

    Parameters
    ----------
    threshold : float
        The model's ``threshold_``.
    classes : list
        Its two class labels.
    metric : str or None
        The metric's name.

    Returns
    -------
    str
        The threshold, the class it applies to and whether it was tuned.
    """
    how = ("the default" if threshold == DEFAULT_THRESHOLD
           else f"tuned for {metric} on validation predictions")
    return f"predict {classes[1]} when P({classes[1]}) >= {threshold:.4g} ({how})"


def temperature_text(temperature: float, metric: str | None) -> str:
    """A classifier's temperature as shown, e.g. ``1.84: probabilities softened (fitted
    for neg_log_loss on validation predictions)``.

    Parameters
    ----------
    temperature : float
        The model's ``temperature_``.
    metric : str or None
        The metric's name.

    Returns
    -------
    str
        The temperature and what it does to the ensemble's probabilities.
    """
    if temperature == 1.0:
        return "1 (the ensemble's probabilities as blended)"
    how = "softened" if temperature > 1.0 else "sharpened"
    return (f"{temperature:.4g}: probabilities {how} (fitted for {metric} on validation "
            "predictions)")


def _initial_design(configs: list[dict[str, Any]]) -> str:
    if not configs:
        return "not used (the search started from random configurations)"
    sources = {"knn": "best on the most similar source datasets", "greedy": "greedy portfolio",
               "experience": "from earlier fits in the experience store"}
    reasons = Counter(str(c.get("reason", "?")).split(":")[0] for c in configs)
    detail = ", ".join(f"{n} {sources.get(r, r)}" for r, n in reasons.most_common())
    return f"{len(configs)} configurations chosen to start the search ({detail})"


def _version(version: str | None) -> str:
    """A library version as shown: ``None`` (absent) as "not installed", the words older
    model files stored, so that both compare equal."""
    return NOT_INSTALLED if version is None else str(version)


def _value(value: Any) -> str:
    return f"{value:.5g}" if isinstance(value, float) else str(value)
