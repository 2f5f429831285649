"""The report's plots, drawn from ``report.json`` data with matplotlib.

matplotlib is an optional extra (``pip install "autometa[plots]"``), imported lazily
and used through its object API on the Agg canvas, so pyplot's global state and the
user's backend are left alone. Scores are plotted so that up is always better; for
``neg_*`` metrics (losses) the axis shows the loss itself, e.g. an RMSE of 3.2 rather
than -3.2, with "lower is better" said on the axis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

COLORS = {"smac": "#4C72B0", "portfolio": "#DD8452", "experience": "#55A868",
          "hp-learner": "#8172B3", "best": "#1B2A49", "failed": "#C44E52"}
ORIGINS = {"portfolio": ("D", "portfolio trial (meta-learned initial design)"),
           "experience": ("s", "experience trial (an earlier fit's pick)"),
           "hp-learner": ("^", "hp-learner trial"),
           "smac": ("o", "SMAC trial")}
ORIGIN_NAMES = {"portfolio": "portfolio", "experience": "experience",
                "hp-learner": "hp-learner", "smac": "SMAC"}
TOP_SOURCES = 5  # source tasks drawn one by one in the surrogate weights plot
FIGSIZE = (7.5, 4.5)
DPI = 130
SHORT_NAMES = {
    "neg_root_mean_squared_error": "RMSE", "neg_mean_squared_error": "MSE",
    "neg_mean_absolute_error": "MAE", "neg_log_loss": "log loss", "roc_auc": "ROC AUC",
    "roc_auc_ovr": "ROC AUC (one-vs-rest)", "roc_auc_ovo": "ROC AUC (one-vs-one)",
    "balanced_accuracy": "balanced accuracy", "r2": "R²",
}


def plot_report(summary: dict[str, Any], directory: str | Path) -> list[Path]:
    """Draw the report plots from a ``summarize`` dict (or a loaded ``report.json``).

    Parameters
    ----------
    summary : dict
        The report data (see :func:`autometa.report.summarize`).
    directory : str or Path
        Folder for the PNG files.

    Returns
    -------
    list of Path
        ``score_over_time.png`` and ``scores_by_family.png`` when a trial succeeded,
        ``ensemble_weights.png`` when there is an ensemble, ``scores_by_fidelity.png``
        when trials succeeded on several fidelities, ``surrogate_weights.png`` when SMAC
        learnt with RGPE.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    drawings = []
    if any(t["score"] is not None for t in summary["trials"]):
        drawings += [("score_over_time.png", _plot_score_over_time),
                     ("scores_by_family.png", _plot_scores_by_family)]
    if summary["ensemble"]:
        drawings.append(("ensemble_weights.png", _plot_ensemble_weights))
    if len({t.get("fidelity") for t in summary["trials"] if t["score"] is not None}) > 1:
        drawings.append(("scores_by_fidelity.png", _plot_scores_by_fidelity))
    if summary.get("surrogate_weights"):
        drawings.append(("surrogate_weights.png", _plot_surrogate_weights))
    paths = []
    for name, draw in drawings:
        figure = draw(summary)
        figure.savefig(directory / name, dpi=DPI)
        paths.append(directory / name)
    return paths


def plot_importance(frame, path: str | Path, metric: str | None = None, top: int = 20) -> Path:
    """Bar chart of permutation importances, most important on top.

    Parameters
    ----------
    frame : DataFrame
        As returned by ``feature_importance``: ``feature``, ``importance_mean`` and
        ``importance_std``, most important first.
    path : str or Path
        The image file (its extension chooses the format, e.g. ``.png``).
    metric : str or None
        The metric's name, for the axis label.
    top : int, default=20
        Most features drawn.

    Returns
    -------
    Path
        ``path``.
    """
    shown_rows = frame.head(top).iloc[::-1]
    name, sign, _ = metric_label(metric)
    change = "rise" if sign < 0 else "drop"  # a neg_* score dropping is its loss rising
    figure, ax = _figure(min(8.0, 1.4 + 0.32 * len(shown_rows)))
    means = shown_rows["importance_mean"].to_numpy(dtype=float)
    ax.barh(range(len(shown_rows)), means, xerr=shown_rows["importance_std"].to_numpy(float),
            color=[COLORS["smac"] if v > 0 else "0.6" for v in means], capsize=2)
    ax.set_yticks(range(len(shown_rows)), [str(f) for f in shown_rows["feature"]], fontsize=8)
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_xlabel(f"{change} in {name} when the feature is shuffled (mean ± sd over repeats)")
    more = f"; the {top} most important of {len(frame)}" if len(frame) > top else ""
    _title(ax, "Permutation feature importance", f"greater means more important{more}")
    ax.grid(axis="x", alpha=0.3)
    figure.savefig(path, dpi=DPI)
    return Path(path)


# -- the metric as a person reads it ---------------------------------------------------------


def metric_label(metric: str | None) -> tuple[str, int, str]:
    """Display name, sign (-1 for ``neg_*`` losses) and which way is better."""
    metric = metric or "score"
    name = SHORT_NAMES.get(metric, metric.removeprefix("neg_").replace("_", " "))
    if metric.startswith("neg_"):
        return name, -1, "lower is better"
    return name, 1, "higher is better"


def shown(value: float, sign: int = 1) -> str:
    """A score as displayed: the loss itself for ``neg_*`` metrics, 4 significant digits."""
    value = sign * value
    if abs(value) >= 1e4:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _score_axis(ax, summary: dict[str, Any]) -> int:
    """Label the y axis (up is better) and show losses as positive numbers."""
    from matplotlib.ticker import FuncFormatter

    name, sign, better = metric_label(summary["metric"])
    ax.set_ylabel(f"validation {name}\n({better}; better is up)")
    if sign < 0:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{-v:,.6g}"))
    return sign


# -- drawing helpers -------------------------------------------------------------------------


def _figure(height: float = FIGSIZE[1]):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(FIGSIZE[0], height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _title(ax, title: str, detail: str) -> None:
    ax.figure.suptitle(title, fontsize=12)
    ax.set_title(detail, fontsize=9, color="0.3")


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


def _note_clipped(ax, scores: list[float], floor: float, sign: int) -> None:
    """Say how many scores lie below the axis (drawn as ▼ on its lower edge)."""
    below = [v for v in scores if v < floor]
    if below:
        ax.scatter([], [], marker="v", color="0.45",
                   label=f"worse, off the axis ({len(below)}; worst {shown(min(below), sign)})")


def _failed_row(ax, xs: list[float], label: str | None) -> None:
    """Failed trials as a row of crosses along the bottom of the axes."""
    if xs:
        ax.scatter(xs, [0.015] * len(xs), transform=ax.get_xaxis_transform(), marker="x",
                   color=COLORS["failed"], s=30, zorder=3, clip_on=False, label=label)


def _listed(origin: str, points: list) -> bool:
    """Whether an origin gets a legend entry: portfolio and SMAC always, the others (an
    experience store, the hp-learner) when the fit used them."""
    return bool(points) or origin in ("portfolio", "smac")


def _legend(ax) -> None:
    """The legend under the plot, where it hides no point."""
    ax.figure.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=3,
                     fontsize=8, frameon=False)


def _counts(trials: list[dict[str, Any]]) -> str:
    failed = sum(t["score"] is None for t in trials)
    portfolio = sum(t["origin"] == "portfolio" for t in trials)
    return f"{len(trials)} trials: {failed} failed, {portfolio} from the portfolio"


# -- the three plots -------------------------------------------------------------------------


def _plot_score_over_time(summary: dict[str, Any]):
    """Trial scores and the best score so far against search time; portfolio trials marked."""
    figure, ax = _figure()
    sign = _score_axis(ax, summary)
    trials = summary["trials"]
    ok = [t for t in trials if t["score"] is not None]
    low, high, floor = _score_range([t["score"] for t in ok])
    for origin, (marker, name) in ORIGINS.items():
        group = [t for t in ok if t["origin"] == origin]
        if not _listed(origin, group):
            continue
        _clipped(ax, [t["search_time"] for t in group], [t["score"] for t in group],
                 floor, marker=marker, s=36, alpha=0.85, color=COLORS[origin],
                 edgecolor="white", linewidth=0.6, zorder=3, label=f"{name} ({len(group)})")
    times = [t["search_time"] for t in ok]
    best = np.maximum.accumulate([t["score"] for t in ok])
    end = max(t["search_time"] for t in trials)
    top = summary["best"]
    ax.step([*times, end], [*best, best[-1]], where="post", color=COLORS["best"], linewidth=2,
            label=f"best so far: {shown(top['score'], sign)} ({top['family']})", zorder=2)
    failed = [t["search_time"] for t in trials if t["score"] is None]
    _failed_row(ax, failed, f"failed ({len(failed)})")
    _note_clipped(ax, [t["score"] for t in ok], floor, sign)
    ax.set_ylim(low, high)
    ax.set_xlim(0, end * 1.02)
    ax.set_xlabel("search time (s): running sum of the trials' wall times")
    _title(ax, "Best validation score over the search", _counts(trials))
    ax.grid(alpha=0.3)
    _legend(ax)
    return figure


def _plot_scores_by_family(summary: dict[str, Any]):
    """Box plot of validation scores per model family, each trial drawn as a point."""
    figure, ax = _figure()
    sign = _score_axis(ax, summary)
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
    for origin, (marker, name) in ORIGINS.items():
        points = [(i, t["score"]) for i, f in enumerate(order) for t in scores[f]
                  if t["score"] is not None and t["origin"] == origin]
        if not _listed(origin, points):
            continue
        xs, ys = (list(z) for z in zip(*points, strict=True)) if points else ([], [])
        _clipped(ax, np.add(xs, rng.uniform(-0.15, 0.15, len(xs))), ys, floor,
                 marker=marker, s=28, alpha=0.85, color=COLORS[origin], edgecolor="white",
                 linewidth=0.5, zorder=3, label=f"{name} ({len(xs)})")
    failed = [i + rng.uniform(-0.15, 0.15) for i, f in enumerate(order)
              for t in scores[f] if t["score"] is None]
    _failed_row(ax, failed, f"failed ({len(failed)})")
    _note_clipped(ax, [v for f in order for v in ok[f]], floor, sign)
    labels = [f"{f}\n{len(ok[f])} ok / {len(scores[f])}" for f in order]
    ax.set_xticks(range(len(order)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_xlim(-0.6, len(order) - 0.4)
    ax.set_ylim(low, high)
    _title(ax, "Validation scores by model family (best family first)",
           _counts(summary["trials"]))
    ax.grid(axis="y", alpha=0.3)
    _legend(ax)
    return figure


def _plot_ensemble_weights(summary: dict[str, Any]):
    """Horizontal bars of the ensemble members' weights, heaviest on top."""
    members = summary["ensemble"][::-1]
    trials = {t["id"]: t for t in summary["trials"]}
    name, sign, _ = metric_label(summary["metric"])
    figure, ax = _figure(min(FIGSIZE[1], 1.6 + 0.4 * len(members)))
    labels, colors = [], []
    for m in members:
        trial = trials.get(m["trial"], {})
        score, origin = trial.get("score"), trial.get("origin", "smac")
        labels.append(f"trial {m['trial']} · {m['family']}\n"
                      + ("" if score is None else f"{name} {shown(score, sign)} · ")
                      + ORIGIN_NAMES.get(origin, "SMAC"))
        colors.append(COLORS.get(origin, COLORS["smac"]))
    bars = ax.barh(range(len(members)), [m["weight"] for m in members], color=colors)
    ax.bar_label(bars, labels=[f"{m['weight']:.0%}" for m in members], padding=3, fontsize=9)
    ax.set_yticks(range(len(members)), labels, fontsize=8)
    ax.set_xlim(0, min(1.0, max(m["weight"] for m in members) * 1.18))
    ax.set_xlabel("weight in the ensemble (share of its averaged predictions)")
    n = len(members)
    _title(ax, f"Ensemble of {n} pipeline{'s' if n != 1 else ''}",
           "under each member: its validation score, and what proposed it")
    ax.grid(axis="x", alpha=0.3)
    return figure


def _plot_scores_by_fidelity(summary: dict[str, Any]):
    """Validation score against training rows; a configuration's rungs joined by a line."""
    figure, ax = _figure()
    sign = _score_axis(ax, summary)
    ok = [t for t in summary["trials"] if t["score"] is not None and t.get("fidelity")]
    low, high, floor = _score_range([t["score"] for t in ok])
    climbs: dict[str, list[dict[str, Any]]] = {}
    for t in ok:
        climbs.setdefault(repr(sorted(t["config"].items())), []).append(t)
    for steps in climbs.values():
        if len(steps) > 1:
            steps = sorted(steps, key=lambda t: t["fidelity"])
            ax.plot([t["fidelity"] for t in steps],
                    [max(t["score"], floor) for t in steps],
                    color="grey", alpha=0.4, linewidth=0.8, zorder=1)
    for origin, (marker, name) in ORIGINS.items():
        group = [t for t in ok if t["origin"] == origin]
        if not _listed(origin, group):
            continue
        _clipped(ax, [t["fidelity"] for t in group], [t["score"] for t in group], floor,
                 marker=marker, s=30, alpha=0.85, color=COLORS[origin], edgecolor="white",
                 linewidth=0.5, zorder=3, label=f"{name} ({len(group)})")
    _note_clipped(ax, [t["score"] for t in ok], floor, sign)
    ax.set_xscale("log")
    ax.set_ylim(low, high)
    ax.set_xlabel("training rows per split (fidelity)")
    _title(ax, "Validation score by fidelity (promoted configurations joined)",
           _counts(summary["trials"]))
    ax.grid(alpha=0.3)
    _legend(ax)
    return figure


def _plot_surrogate_weights(summary: dict[str, Any]):
    """RGPE's weights against the trials it had learnt from: this task's own model, the
    ``TOP_SOURCES`` source tasks that weighed most, and the rest together."""
    data = summary["surrogate_weights"]
    x, weights = data["observations"], dict(data["weights"])
    own = weights.pop("target")
    top = sorted(weights, key=lambda name: -max(weights[name]))[:TOP_SOURCES]
    rest = [sum(v[i] for name, v in weights.items() if name not in top) for i in range(len(x))]
    figure, ax = _figure()
    ax.plot(x, own, color=COLORS["best"], linewidth=2.2, label="this task's own forest")
    for name in top:
        ax.plot(x, weights[name], linewidth=1.2, alpha=0.9, label=name)
    if len(weights) > len(top):
        ax.plot(x, rest, color="0.5", linestyle="--", linewidth=1,
                label=f"{len(weights) - len(top)} other source tasks")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("trials the surrogate had learnt from")
    ax.set_ylabel("weight in RGPE")
    _title(ax, "Surrogate transfer: how much each task's model counts",
           "source tasks fade as this task's own trials accumulate")
    ax.grid(alpha=0.3)
    _legend(ax)
    return figure
