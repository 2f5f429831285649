"""What a fitted estimator knows about its search: ``report.json``, plots, ``info`` text.

The plots (best score over the search, scores by family, ensemble weights) are drawn
from the JSON data with matplotlib, an optional extra (``pip install "autometa[plots]"``)
imported lazily and used through its object API on the Agg canvas, so pyplot's global
state and the user's backend are left alone.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autometa.io import jsonable
from autometa.records import Trial

PLOTS_EXTRA = 'pip install "autometa[plots]"'


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
        Task, metric, budget and fit time, trial counts, the best trial, every trial,
        the ensemble weights and, if the estimator has them, its meta-features.
    """
    from autometa import __version__

    if not hasattr(estimator, "trials_"):
        raise ValueError("The estimator is not fitted; call fit before writing a report.")
    trials = list(estimator.trials_)
    metric = getattr(estimator, "metric_", None)
    summary = {
        "autometa_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "estimator": type(estimator).__name__,
        "task": getattr(estimator, "_task", "") or None,
        "classes": _classes(estimator),
        "metric": getattr(metric, "name", None),
        "time_budget": getattr(estimator, "time_budget", None),
        "fit_time": getattr(estimator, "fit_time_", None),
        "n_trials": len(trials),
        "n_failed": sum(not t.ok for t in trials),
        "status_counts": dict(Counter(t.status for t in trials)),
        "best": _best(trials),
        "trials": trial_rows(trials),
        "ensemble": ensemble_rows(estimator),
        "metafeatures": getattr(estimator, "metafeatures_", None),
    }
    return jsonable(summary)


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
            "config": t.config,
        })
    return rows


def ensemble_rows(estimator) -> list[dict[str, Any]]:
    """Ensemble members (trial, family, weight normalised to sum to 1), heaviest first."""
    members = getattr(getattr(estimator, "ensemble_", None), "members", None) or ()
    families = {t.id: t.family for t in getattr(estimator, "trials_", ())}
    total = sum(m.weight for m in members) or 1.0
    rows = [{"trial": m.trial, "family": families.get(m.trial, "?"), "weight": m.weight / total}
            for m in members]
    return sorted(rows, key=lambda r: (-r["weight"], r["trial"]))


def _classes(estimator) -> list | None:
    classes = getattr(estimator, "classes_", None)
    return None if classes is None else [c.item() if hasattr(c, "item") else c for c in classes]


def _best(trials: list[Trial]) -> dict[str, Any] | None:
    ok = [t for t in trials if t.ok]
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
        Task, target, metric, budget, fit time, trial counts, ensemble, meta-features
        and library versions (installed, and those the model was fitted with).
    """
    from autometa.io import library_versions

    estimator = bundle["estimator"]
    summary = summarize(estimator)
    names = getattr(estimator, "feature_names_in_", None)
    keys = ("estimator", "task", "classes", "metric", "time_budget", "fit_time", "n_trials",
            "n_failed", "status_counts", "best", "ensemble", "metafeatures")
    info = {"model_file": str(path), "target": bundle.get("target"),
            **{k: summary[k] for k in keys},
            "features": None if names is None else [str(n) for n in names],
            "interrupted": bool(bundle.get("interrupted", False)),
            "task_reason": bundle.get("task_reason"),
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
                         if s != "ok")
    lines = [f"model:     {info['estimator']} ({info['model_file']})",
             f"task:      {info['task']}"
             + (f" ({len(info['classes'])} classes: {_shown(info['classes'])})"
                if info["classes"] else ""),
             f"target:    {info['target'] or 'unknown'}",
             "features:  " + (f"{len(info['features'])} ({_shown(info['features'])})"
                              if info["features"] is not None else "unnamed columns"),
             f"metric:    {info['metric']}",
             f"budget:    {info['time_budget']:g} s; fit took {info['fit_time']:.1f} s"
             + (" (interrupted)" if info["interrupted"] else ""),
             f"trials:    {info['n_trials']} ({info['n_failed']} failed"
             + (f": {failures})" if failures else ")")]
    if info["best"]:
        best = info["best"]
        lines.append(f"best:      {best['score']:.5g} ({best['family']}, trial {best['trial']})")
    lines.append(f"ensemble:  {len(info['ensemble'])} members")
    lines += [f"  {m['weight']:6.1%}  trial {m['trial']:<4} {m['family']}"
              for m in info["ensemble"]]
    if info["metafeatures"]:
        lines.append("metafeatures:")
        lines += [f"  {k}: {v}" for k, v in sorted(info["metafeatures"].items())]
    lines.append("versions:  " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    fitted = info["fitted_with"] or {}
    changed = {k: v for k, v in fitted.items() if info["versions"].get(k) != v}
    if changed:
        lines.append("fitted with different versions: "
                     + ", ".join(f"{k} {v}" for k, v in changed.items()))
    return "\n".join(lines)


def _shown(items: list, limit: int = 12) -> str:
    return ", ".join(str(i) for i in items[:limit]) + (", ..." if len(items) > limit else "")


# -- plots -----------------------------------------------------------------------------------

COLORS = {"smac": "#4C72B0", "portfolio": "#DD8452", "best": "#1B2A49", "failed": "#C44E52"}
FIGSIZE = (7.5, 4.5)
DPI = 130


def plot_report(summary: dict[str, Any], directory: str | Path) -> list[Path]:
    """Draw the report plots from a :func:`summarize` dict (or a loaded ``report.json``).

    Parameters
    ----------
    summary : dict
        The report data.
    directory : str or Path
        Folder for the PNG files.

    Returns
    -------
    list of Path
        ``score_over_time.png`` and ``scores_by_family.png`` when a trial succeeded,
        ``ensemble_weights.png`` when there is an ensemble.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    drawings = []
    if any(t["score"] is not None for t in summary["trials"]):
        drawings += [("score_over_time.png", _plot_score_over_time),
                     ("scores_by_family.png", _plot_scores_by_family)]
    if summary["ensemble"]:
        drawings.append(("ensemble_weights.png", _plot_ensemble_weights))
    paths = []
    for name, draw in drawings:
        figure = draw(summary)
        figure.savefig(directory / name, dpi=DPI)
        paths.append(directory / name)
    return paths


def _figure(height: float = FIGSIZE[1]):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(FIGSIZE[0], height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _score_range(scores: list[float]) -> tuple[float, float, float]:
    """Axis limits showing the good scores, and the floor where far-off outliers are drawn
    (just above the row of failed trials)."""
    values = np.asarray(scores, dtype=float)
    best, typical = values.max(), np.median(values)
    spread = max(best - typical, 1e-3 * abs(best), 1e-9)
    low = max(values.min(), best - 6 * spread)
    margin = 0.06 * max(best - low, spread)
    low, high = low - margin, best + margin
    return low, high, low + 0.05 * (high - low)


def _clipped(ax, x, y, floor: float, **style) -> None:
    """Scatter points, drawing those below ``floor`` as down-pointing marks at ``floor``."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    inside = y >= floor
    ax.scatter(x[inside], y[inside], **style)
    if (~inside).any():
        ax.scatter(x[~inside], np.full(int((~inside).sum()), floor),
                   **{**style, "marker": "v", "label": None})


def _note_clipped(ax, scores: list[float], floor: float) -> None:
    """Say how many scores lie below the axis (drawn as ▼ on its lower edge)."""
    below = [v for v in scores if v < floor]
    if below:
        ax.scatter([], [], marker="v", color="0.45",
                   label=f"below the axis ({len(below)}, lowest {min(below):.4g})")


def _plot_score_over_time(summary: dict[str, Any]):
    """Trial scores and the best score so far against search time; portfolio trials marked."""
    figure, ax = _figure()
    trials = summary["trials"]
    ok = [t for t in trials if t["score"] is not None]
    low, high, floor = _score_range([t["score"] for t in ok])
    for origin, marker in (("smac", "o"), ("portfolio", "D")):
        group = [t for t in ok if t["origin"] == origin]
        if group:
            _clipped(ax, [t["search_time"] for t in group], [t["score"] for t in group],
                     floor, marker=marker, s=36, alpha=0.85,
                     color=COLORS[origin], edgecolor="white", linewidth=0.6, zorder=3,
                     label=f"{origin} trial ({len(group)})")
    times = [t["search_time"] for t in ok]
    best = np.maximum.accumulate([t["score"] for t in ok])
    end = max(t["search_time"] for t in trials)
    top = summary["best"]
    ax.step([*times, end], [*best, best[-1]], where="post", color=COLORS["best"], linewidth=2,
            label=f"best so far ({top['score']:.4g}, {top['family']})", zorder=2)
    failed = [t["search_time"] for t in trials if t["score"] is None]
    if failed:  # a row of crosses along the bottom
        ax.scatter(failed, [0.015] * len(failed), transform=ax.get_xaxis_transform(), marker="x",
                   color=COLORS["failed"], s=30, zorder=3, label=f"failed trial ({len(failed)})")
    _note_clipped(ax, [t["score"] for t in ok], floor)
    ax.set_ylim(low, high)
    ax.set_xlim(0, end * 1.02)
    ax.set_xlabel("search time (s): running sum of trial wall times")
    ax.set_ylabel(f"validation {summary['metric']} (higher is better)")
    ax.set_title(f"Best validation {summary['metric']} over the search "
                 f"({summary['n_trials']} trials, {summary['n_failed']} failed)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return figure


def _plot_scores_by_family(summary: dict[str, Any]):
    """Box plot of validation scores per model family, each trial drawn as a point."""
    figure, ax = _figure()
    families = sorted({t["family"] for t in summary["trials"]})
    scores = {f: [t for t in summary["trials"] if t["family"] == f] for f in families}
    ok = {f: [t["score"] for t in ts if t["score"] is not None] for f, ts in scores.items()}
    order = sorted(families, key=lambda f: -max(ok[f], default=-np.inf))
    low, high, floor = _score_range([s for f in order for s in ok[f]])
    boxed = [i for i, f in enumerate(order) if len(ok[f]) >= 3]  # a box needs a few points
    if boxed:
        ax.boxplot([ok[order[i]] for i in boxed], positions=boxed, widths=0.55,
                   showfliers=False, medianprops={"color": COLORS["best"]})
    rng = np.random.default_rng(0)
    for origin in ("smac", "portfolio"):
        points = [(i, t["score"]) for i, f in enumerate(order) for t in scores[f]
                  if t["score"] is not None and t["origin"] == origin]
        if points:
            xs, ys = zip(*points, strict=True)
            _clipped(ax, np.add(xs, rng.uniform(-0.15, 0.15, len(xs))), ys, floor,
                     s=24, alpha=0.85, color=COLORS[origin], edgecolor="white", linewidth=0.5,
                     zorder=3, label=f"{origin} trial")
    _note_clipped(ax, [v for f in order for v in ok[f]], floor)
    labels = [f"{f}\n{len(ok[f])} ok / {len(scores[f])}" for f in order]
    ax.set_xticks(range(len(order)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(low, high)
    ax.set_ylabel(f"validation {summary['metric']} (higher is better)")
    ax.set_title("Validation scores by model family (best family first)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return figure


def _plot_ensemble_weights(summary: dict[str, Any]):
    """Horizontal bars of the ensemble members' weights, heaviest on top."""
    members = summary["ensemble"][::-1]
    figure, ax = _figure(min(FIGSIZE[1], 1.3 + 0.4 * len(members)))
    labels = [f"trial {m['trial']} · {m['family']}" for m in members]
    bars = ax.barh(range(len(members)), [m["weight"] for m in members], color=COLORS["smac"])
    ax.bar_label(bars, labels=[f"{m['weight']:.0%}" for m in members], padding=3, fontsize=9)
    ax.set_yticks(range(len(members)), labels, fontsize=9)
    ax.set_xlim(0, min(1.0, max(m["weight"] for m in members) * 1.15))
    ax.set_xlabel("weight in the ensemble")
    ax.set_title(f"Ensemble of {len(members)} pipeline{'s' if len(members) != 1 else ''}")
    ax.grid(axis="x", alpha=0.3)
    return figure
