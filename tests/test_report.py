"""The fit report (report.json and plots) and the progress display, on stand-in estimators."""

from __future__ import annotations

import io
import json
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from autometa.ensemble import Ensemble, Member
from autometa.io import listed
from autometa.plots import metric_label, shown
from autometa.progress import FitProgress
from autometa.records import Trial
from autometa.report import info_dict, info_text, plot_report, summarize, write_report
from autometa.versions import library_versions

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def trial(i: int, family: str, score: float | None, origin: str = "smac",
          status: str = "ok", error: str = "") -> Trial:
    return Trial(id=i, family=family, config={"model": family, f"{family}:x": i},
                 origin=origin, status=status,
                 loss=None if score is None else -score,
                 fit_time=None if score is None else 0.1 * (i + 1),
                 predict_time=None if score is None else 0.01, wall_time=0.5 + 0.1 * i,
                 error=error)


class FittedStandIn(ClassifierMixin, BaseEstimator):
    """What write_report reads from a fitted AutoMetaClassifier, without fitting one."""

    def __init__(self) -> None:
        self.trials_ = [
            trial(0, "lightgbm", 0.91, origin="portfolio"),
            trial(1, "linear", 0.95, origin="portfolio"),
            trial(2, "knn", None, status="error", error="ValueError: boom"),
            trial(3, "xgboost", 0.5),  # a constant predictor: far below the others
            trial(4, "linear", 0.96),
            trial(5, "mlp", None, status="timeout", error="exceeded its time limit"),
            trial(6, "lightgbm", 0.93),
            trial(7, "linear", 0.955),
        ]
        self.metric_ = SimpleNamespace(name="roc_auc")
        self.ensemble_ = Ensemble((Member(4, 3.0, None), Member(1, 1.0, None)), "classification",
                                  2)
        self.time_budget = 10
        self.fit_time_ = 9.5
        self.classes_ = np.array(["no", "yes"], dtype=object)
        self.metafeatures_ = {"simple.n_rows": np.float64(200), "stat.skew_mean": np.nan}
        self.verbose = 1


def test_report_json_holds_the_search(tmp_path):
    report = write_report(FittedStandIn(), tmp_path / "out")
    data = json.loads(report.json_path.read_text())
    assert report.json_path == tmp_path / "out" / "report.json"
    assert data["task"] == "classification" and data["metric"] == "roc_auc"
    assert data["time_budget"] == 10 and data["fit_time"] == 9.5
    assert data["n_trials"] == 8 and data["n_failed"] == 2
    assert data["status_counts"] == {"ok": 6, "error": 1, "timeout": 1}
    assert data["best"] == {"trial": 4, "family": "linear", "origin": "smac", "score": 0.96}
    assert data["classes"] == ["no", "yes"]
    first, failed = data["trials"][0], data["trials"][2]
    assert first["origin"] == "portfolio" and first["score"] == 0.91
    assert failed["status"] == "error" and failed["score"] is None and failed["error"]
    times = [t["search_time"] for t in data["trials"]]
    assert times == sorted(times) and times[0] == pytest.approx(0.5)
    assert data["ensemble"] == [{"trial": 4, "family": "linear", "weight": 0.75, "rows": None},
                                {"trial": 1, "family": "linear", "weight": 0.25, "rows": None}]
    assert data["metafeatures"] == {"simple.n_rows": 200.0, "stat.skew_mean": None}


def test_report_plots_are_pngs(tmp_path):
    import matplotlib

    backend = matplotlib.get_backend()
    report = write_report(FittedStandIn(), tmp_path)
    names = sorted(p.name for p in report.plots)
    assert names == ["ensemble_weights.png", "score_over_time.png", "scores_by_family.png"]
    assert report.plots_skipped == ""
    for path in report.plots:
        content = path.read_bytes()
        assert content.startswith(PNG_MAGIC) and len(content) > 10_000
    assert matplotlib.get_backend() == backend  # pyplot's global backend is left alone


def test_a_multi_fidelity_search_gets_a_plot_of_scores_by_fidelity(tmp_path):
    from dataclasses import replace

    estimator = FittedStandIn()
    rows = [100, 100, 100, 100, 100, 100, 100, 300]
    estimator.trials_ = [replace(t, fidelity=r, promoted=r > 100)
                         for t, r in zip(estimator.trials_, rows, strict=True)]
    estimator.trials_[7] = replace(estimator.trials_[7], config=estimator.trials_[1].config)
    report = write_report(estimator, tmp_path)
    data = json.loads(report.json_path.read_text())
    assert [t["fidelity"] for t in data["trials"]] == rows
    assert data["best"]["trial"] == 7  # of the highest fidelity; trial 4 scored higher
    assert "scores_by_fidelity.png" in {p.name for p in report.plots}
    assert (tmp_path / "scores_by_fidelity.png").read_bytes().startswith(PNG_MAGIC)


def test_rgpe_weights_are_reported_and_plotted(tmp_path):
    import pandas as pd

    estimator = FittedStandIn()
    sources = [f"task{i}" for i in range(7)]
    weights = np.array([[0.1] * 7 + [0.3], [0.05] * 7 + [0.65], [0.0] * 7 + [1.0]])
    estimator.surrogate_weights_ = pd.DataFrame(weights, columns=[*sources, "target"],
                                                index=pd.Index([3, 8, 13], name="observations"))
    report = write_report(estimator, tmp_path)
    data = json.loads(report.json_path.read_text())["surrogate_weights"]
    assert data["observations"] == [3, 8, 13] and data["weights"]["target"] == [0.3, 0.65, 1.0]
    assert (tmp_path / "surrogate_weights.png").read_bytes().startswith(PNG_MAGIC)
    plain = json.loads(write_report(FittedStandIn(), tmp_path / "rf").json_path.read_text())
    assert plain["surrogate_weights"] is None
    assert not (tmp_path / "rf" / "surrogate_weights.png").exists()


def test_every_origin_of_a_trial_is_drawn():
    from autometa.plots import _plot_score_over_time

    estimator = FittedStandIn()
    estimator.trials_[6] = trial(6, "lightgbm", 0.93, origin="experience")
    estimator.trials_[7] = trial(7, "linear", 0.955, origin="hp-learner")
    figure = _plot_score_over_time(summarize(estimator))
    labels = figure.legends[0].get_texts() if figure.legends else []
    text = " ".join(t.get_text() for t in labels)
    assert "an earlier fit's pick) (1)" in text and "hp-learner trial (1)" in text
    plain = _plot_score_over_time(summarize(FittedStandIn()))
    assert "hp-learner" not in " ".join(t.get_text() for t in plain.legends[0].get_texts())


def test_plots_can_be_redrawn_from_report_json(tmp_path):
    report = write_report(FittedStandIn(), tmp_path / "first")
    summary = json.loads(report.json_path.read_text())
    summary["ensemble"] = []
    paths = plot_report(summary, tmp_path / "again")
    assert sorted(p.name for p in paths) == ["score_over_time.png", "scores_by_family.png"]


def test_losses_are_plotted_as_themselves_with_better_up(tmp_path):
    assert metric_label("neg_root_mean_squared_error") == ("RMSE", -1, "lower is better")
    assert metric_label("neg_mean_absolute_percentage_error")[0] == "mean absolute percentage error"
    assert metric_label("roc_auc") == ("ROC AUC", 1, "higher is better")
    assert shown(-22637.3, -1) == "22,637" and shown(-0.72893, -1) == "0.7289"
    summary = json.loads(write_report(FittedStandIn(), tmp_path / "a").json_path.read_text())
    summary["metric"] = "neg_root_mean_squared_error"
    for t in summary["trials"]:  # a regression, all trials proposed by SMAC
        t["origin"] = "smac"
        t["score"] = None if t["score"] is None else -30000 * (2 - t["score"])
    paths = plot_report(summary, tmp_path / "b")
    assert len(paths) == 3 and all(p.read_bytes().startswith(PNG_MAGIC) for p in paths)


def test_report_without_matplotlib_still_writes_json(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    report = write_report(FittedStandIn(), tmp_path)
    assert report.plots == ()
    assert "matplotlib is not installed" in report.plots_skipped
    assert "autometa[plots]" in report.plots_skipped
    assert json.loads(report.json_path.read_text())["n_trials"] == 8
    assert not list(tmp_path.glob("*.png"))


def test_the_task_is_the_estimators_scikit_learn_type():
    class RegressorStandIn(RegressorMixin, BaseEstimator):
        trials_ = FittedStandIn().trials_

    assert summarize(FittedStandIn())["task"] == "classification"
    assert summarize(RegressorStandIn())["task"] == "regression"
    assert summarize(SimpleNamespace(trials_=[]))["task"] is None  # not an estimator


def test_report_of_an_unfitted_estimator_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        summarize(SimpleNamespace())


# -- progress display (a callback of the fit) ---------------------------------------------


def test_plain_progress_prints_one_line_per_trial():
    stream = io.StringIO()
    progress = FitProgress(10, start=0.0, metric="roc_auc", stream=stream)
    assert not progress.live  # a StringIO is not a terminal
    progress.start()
    for t in FittedStandIn().trials_[:3]:
        progress.update(t)
    progress.stop()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "[autometa] searching for up to 10 s"
    assert lines[1].startswith("[autometa] trial 0 lightgbm (portfolio): ok, roc_auc 0.91 | "
                               "best 0.91 | 1 done, 0 failed |")
    assert "trial 2 knn (smac): error (ValueError: boom) | best 0.95 | 3 done, 1 failed" \
        in lines[3]
    assert lines[4].startswith("[autometa] done in") and "best roc_auc 0.95 (linear)" in lines[4]


def test_plain_progress_shows_the_rows_of_a_trial_its_trees_and_its_promotion():
    from dataclasses import replace

    progress = FitProgress(10, start=0.0, metric="roc_auc", stream=io.StringIO())
    trial = replace(FittedStandIn().trials_[0], fidelity=1200, promoted=True)
    assert "trial 0 lightgbm (portfolio, 1200 rows, promoted): ok" in progress.trial_line(trial)
    forest = replace(trial, family="random_forest", trees=1 / 3)
    assert "(portfolio, 1200 rows, 33% of its trees, promoted)" in progress.trial_line(forest)


def test_live_progress_shows_counts_and_best():
    stream = io.StringIO()
    progress = FitProgress(10, start=0.0, metric="roc_auc", stream=stream, live=True)
    progress.console.width = 160
    progress.start()
    for t in FittedStandIn().trials_:
        progress.update(t)
    assert progress.n_done == 8 and progress.n_failed == 2
    assert progress.best.id == 4
    progress.stop()
    text = stream.getvalue()
    assert "8 trials" in text and "2 failed" in text and "best roc_auc 0.96" in text
    assert "━" in text and "/10 s" in text and text.rstrip().endswith("done")


def test_live_progress_keeps_bar_and_clock_on_a_narrow_terminal():
    stream = io.StringIO()
    progress = FitProgress(10, start=0.0, metric="roc_auc", stream=stream, live=True)
    progress.console.width = 80
    progress.start()
    for t in FittedStandIn().trials_:
        progress.update(t)
    progress.stop()
    last = stream.getvalue().rstrip().splitlines()[-1]
    assert "━" in last and "/10 s" in last and "8 trials" in last and "…" in last


def test_progress_follows_the_fit_callbacks_and_says_when_it_stopped():
    stream = io.StringIO()
    progress = FitProgress(5, stream=stream, live=True)
    progress.console.width = 160
    plan, data = SimpleNamespace(start=0.0), SimpleNamespace(metric=SimpleNamespace(name="r2"))
    progress.on_start(plan, data)
    progress.on_trial(FittedStandIn().trials_[0])
    progress.on_end(None)  # the fit failed
    assert progress.metric == "r2" and progress._progress is None
    assert stream.getvalue().rstrip().endswith("stopped")


def test_info_text_lists_metafeatures_and_version_changes():
    bundle = {"estimator": FittedStandIn(), "target": "y", "versions": {"autometa": "0.0.1"}}
    text = info_text(info_dict(bundle, "m.joblib"))
    assert "trials:    8 (2 failed: 1 error, 1 timeout; 2 from the portfolio)" in text
    assert "best:      0.96 (linear, trial 4, smac)" in text
    assert "   75.0%  trial 4    linear" in text
    assert "metafeatures:\n  simple.n_rows: 200\n  stat.skew_mean: None" in text
    assert "fitted with different versions: autometa 0.0.1" in text


def test_info_counts_skipped_promotions_apart_and_shows_the_rows_a_member_trained_on():
    from dataclasses import replace

    stand_in = FittedStandIn()
    skipped = replace(stand_in.trials_[0], id=8, origin="smac", status="skipped", loss=None,
                      wall_time=0.0, fidelity=9000, promoted=True,
                      error="not promoted: expected 30 s")
    stand_in.trials_ = [*stand_in.trials_, skipped]
    stand_in.ensemble_ = replace(stand_in.ensemble_, members=(
        replace(stand_in.ensemble_.members[0], rows=40_000), stand_in.ensemble_.members[1]))
    text = info_text(info_dict({"estimator": stand_in, "target": "y"}, "m.joblib"))
    assert "   75.0%  trial 4    linear (trained on 40000 rows)\n" in text
    assert "   25.0%  trial 1    linear\n" in text
    assert "trials:    9 (2 failed: 1 error, 1 timeout; 1 skipped as too slow; " \
           "2 from the portfolio)" in text
    progress = FitProgress(10, start=0.0, metric="roc_auc", stream=io.StringIO())
    for t in stand_in.trials_:
        progress.update(t)
    assert progress.n_done == 9 and progress.n_failed == 2
    assert "skipped (not promoted: expected 30 s)" in progress.trial_line(skipped)


def test_info_text_shows_an_absent_library_as_not_installed():
    current = library_versions()
    older = {**current, "xgboost": "not installed"}  # what older model files stored
    info = info_dict({"estimator": FittedStandIn(), "versions": older}, "m.joblib")
    info["versions"] = {**current, "xgboost": None}
    text = info_text(info)
    assert "xgboost not installed" in text and "fitted with different versions" not in text


def test_listed_shows_the_first_items_and_says_when_there_are_more():
    assert listed(["a", "b"]) == "a, b"
    assert listed(list(range(14))) == "0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, ..."
    assert listed("abc", limit=2) == "a, b, ..."
    assert listed([]) == ""


def test_a_tuned_threshold_is_reported():
    model = FittedStandIn()
    model.threshold_ = 0.2134
    assert summarize(model)["threshold"] == 0.2134
    info = info_dict({"estimator": model}, "m.joblib")
    assert ("threshold: predict yes when P(yes) >= 0.2134 (tuned for roc_auc on validation "
            "predictions)") in info_text(info)
    model.threshold_ = 0.5
    assert "threshold: predict yes when P(yes) >= 0.5 (the default)" in info_text(
        info_dict({"estimator": model}, "m.joblib"))
    assert "threshold" not in info_text(info_dict({"estimator": FittedStandIn()}, "m.joblib"))


def test_the_measured_latency_is_reported():
    model = FittedStandIn()
    assert "predicts:" not in info_text(info_dict({"estimator": model}, "m.joblib"))
    model.predict_latency_, model.infer_limit = 1.234e-5, 2e-5
    info = info_dict({"estimator": model}, "m.joblib")
    assert info["predict_latency"] == 1.234e-5
    assert ("predicts:  12.3 ms per 1,000 rows (measured on batches of 1,000 rows; limit "
            "20 ms)") in info_text(info)


def test_a_temperature_is_reported_where_the_threshold_is():
    from autometa.cli_fit import temperature_note

    model = FittedStandIn()
    model.metric_ = SimpleNamespace(name="neg_log_loss")
    model.temperature_ = 0.7123
    assert summarize(model)["temperature"] == 0.7123
    text = info_text(info_dict({"estimator": model}, "m.joblib"))
    assert ("proba:     temperature 0.7123: probabilities sharpened (fitted for neg_log_loss "
            "on validation predictions)") in text
    assert temperature_note(model).startswith("temperature: 0.7123: probabilities sharpened")
    model.temperature_ = 2.5
    assert "temperature 2.5: probabilities softened" in info_text(
        info_dict({"estimator": model}, "m.joblib"))
    model.temperature_ = 1.0
    assert "proba:     temperature 1 (the ensemble's probabilities as blended)" in info_text(
        info_dict({"estimator": model}, "m.joblib"))
    assert temperature_note(model) is None
    assert "temperature" not in info_text(info_dict({"estimator": FittedStandIn()}, "m.joblib"))
