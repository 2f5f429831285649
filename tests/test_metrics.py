"""Resolving the user's metric: names, scorer objects, and metrics of the wrong task."""

import pytest
from sklearn.metrics import make_scorer, mean_absolute_error

from autometa.metrics import resolve_metric


@pytest.mark.parametrize("task, n_classes, name", [
    ("classification", 2, "roc_auc"),
    ("classification", 3, "neg_log_loss"),
    ("regression", None, "neg_root_mean_squared_error"),
])
def test_default_metric_per_task(task, n_classes, name):
    assert resolve_metric(None, task, n_classes).name == name


@pytest.mark.parametrize("name, task, says", [
    ("r2", "classification", "regression metric"),
    ("neg_mean_absolute_error", "classification", "regression metric"),
    ("accuracy", "regression", "classification metric"),
    ("roc_auc", "regression", "classification metric"),
])
def test_a_metric_of_the_other_task_is_refused_with_what_to_use(name, task, says):
    with pytest.raises(ValueError, match=says):
        resolve_metric(name, task, 2)


def test_unknown_names_and_objects_say_what_is_accepted():
    with pytest.raises(ValueError, match="get_scorer_names"):
        resolve_metric("accuracy_score", "classification", 2)
    with pytest.raises(TypeError, match="make_scorer"):
        resolve_metric(len, "classification", 2)


def test_a_custom_scorer_is_trusted():
    metric = resolve_metric(make_scorer(mean_absolute_error), "regression")
    assert metric.name == "mean_absolute_error" and metric.response == "value"


@pytest.mark.parametrize("name, task, ranks_only", [
    ("roc_auc", "classification", True),
    ("average_precision", "classification", True),
    ("neg_log_loss", "classification", False),
    ("accuracy", "classification", False),
    ("neg_root_mean_squared_error", "regression", False),
])
def test_rank_metrics_are_known(name, task, ranks_only):
    assert resolve_metric(name, task, 2).ranks_only is ranks_only
