"""The shipped transfer sources: their file, loader, leave-out and rebuild."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from autometa.components import registry
from autometa.metalearning.transfer_build import observed_trials
from autometa.portfolio import PortfolioError
from autometa.portfolio import load as load_portfolio
from autometa.space import build_space, select_families
from autometa.surrogate import encoded
from autometa.transfer import (
    from_json as transfer_from_json,
)
from autometa.transfer import (
    from_rows,
    load,
    quantiles,
    task_rows,
    to_json,
    transfer_path,
    write,
)

TASKS = ("classification", "regression")
MAX_BYTES = 400_000  # a shipped file must stay small (the wheel carries it)


@pytest.mark.parametrize("task", TASKS)
def test_shipped_sources_are_small_and_cover_the_portfolio(task):
    path = transfer_path(task)
    assert path.stat().st_size < MAX_BYTES
    sources = load(task)
    assert set(load_portfolio(task).tasks) <= set(sources.names)
    for t in sources.tasks:
        assert len(t.configs) == len(t.quantiles) >= 2
        assert np.all((t.quantiles > 0) & (t.quantiles < 1))
        assert t.configs.max() < len(sources.configs)
        assert t.metafeatures.shape == (len(sources.metafeature_names),)


@pytest.mark.parametrize("task", TASKS)
def test_every_shipped_configuration_is_valid_in_the_search_space(task):
    sources = load(task)
    space = build_space(task, select_families(task, registry()), seed=0)
    _, rows = encoded(sources, space)
    assert sum(len(y) for _, y in rows) == sum(len(t.configs) for t in sources.tasks)


def test_the_loader_reads_each_file_once():
    assert load("classification") is load("classification")


def test_leaving_a_group_out_removes_exactly_its_tasks():
    sources = load("classification")
    group = sources.tasks[0].group
    left = sources.without([group])
    assert group not in {t.group for t in left.tasks}
    assert len(left.tasks) == sum(t.group != group for t in sources.tasks)
    assert left.only(left.names[:3]).names == left.names[:3]


def test_failed_trials_are_left_out_and_repeats_averaged():
    a, b, c = {"model": "a"}, {"model": "b"}, {"model": "c"}
    configs, q = task_rows([(a, 0.5), (b, None), (c, 0.1), (a, 0.3), (b, float("inf"))])
    assert configs == [a, c]  # b only failed
    np.testing.assert_allclose(q, quantiles([0.4, 0.1]))
    assert q[1] < q[0]


def test_quantiles_are_ranks_and_ties_share_them():
    q = quantiles([3.0, 1.0, 2.0, 2.0])
    assert q[1] < q[2] == q[3] < q[0]
    assert q.min() > 0 and q.max() < 1


def test_round_trip_and_version_check(tmp_path):
    sources = from_rows("regression", ["m1", "m2"], [
        ("t1", "g1", np.array([1.0, np.nan]), [({"model": "x"}, 1.0), ({"model": "y"}, 2.0)]),
        ("t2", "g2", np.array([0.0, 3.0]), [({"model": "y"}, 5.0), ({"model": "z"}, None)]),
    ])
    assert len(sources.configs) == 2 and sources.tasks[1].configs.tolist() == [1]
    path = write(sources, tmp_path / "transfer_regression.json.gz")
    back = load("regression", path)
    assert back.names == sources.names and back.configs == sources.configs
    np.testing.assert_array_equal(back.metafeatures, sources.metafeatures)
    doc = to_json(sources)
    doc["schema_version"] = 99
    with pytest.raises(PortfolioError, match="schema version"):
        transfer_from_json(doc)
    with pytest.raises(PortfolioError, match="not classification"):
        load("classification", path)


def test_rebuild_reads_search_and_matrix_without_failures(tmp_path):
    good, bad, cand = {"model": "a"}, {"model": "knn"}, {"model": "c"}
    lines = [
        {"task": "t", "config": good, "loss": -0.9, "status": "ok"},
        {"task": "t", "config": bad, "loss": None, "status": "error",
         "error": "ValueError: No valid specification of the columns."},
        {"task": "t", "done": True},
    ]
    (tmp_path / "search.jsonl").write_text("\n".join(json.dumps(r) for r in lines))
    (tmp_path / "candidates.json").write_text(json.dumps(
        {"classification": {"id1": {"config": cand, "source": "default"}}}))
    (tmp_path / "matrix.jsonl").write_text(json.dumps(
        {"task": "t", "candidate": "id1", "loss": -0.8, "status": "ok"}))
    trials = observed_trials(tmp_path)
    assert trials["t"] == [(good, -0.9), (bad, None), (cand, -0.8)]
    configs, q = task_rows(trials["t"])
    assert configs == [good, cand] and q[0] < q[1]


def test_shipped_file_is_gzipped_json():
    with gzip.open(transfer_path("regression"), "rt") as f:
        assert json.load(f)["task"] == "regression"
