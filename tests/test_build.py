"""The meta-dataset build on a tiny corpus: the real command once, then in-process resumes.

Three small tasks (two classification tasks of different groups, one regression task),
three search trials each and six to eight candidates keep it to about a minute on 2 cores.
Family defaults come first among the candidates, so these are all defaults.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

from autometa import portfolio as pf
from autometa.metalearning.build import build_metadata, read_jsonl, search_records, space_for
from autometa.metalearning.corpus import load_corpus
from autometa.space import configuration

AUTOMETA = Path(sys.executable).parent / "autometa"
FAST = ["--search-trials", "3", "--max-rows", "120", "--n-jobs", "1"]

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not AUTOMETA.exists(),
                                 reason="the autometa command is not installed (pip install -e .)")]


def write_corpus(root: Path) -> Path:
    """A corpus folder (manifest.json + data/*.parquet) of three small tasks."""
    (root / "data").mkdir(parents=True)
    manifest = []
    for name, loader, task in (("cancer", load_breast_cancer, "classification"),
                               ("wine", load_wine, "classification"),
                               ("diabetes", load_diabetes, "regression")):
        frame = loader(as_frame=True).frame.sample(120, random_state=0)
        frame.to_parquet(root / "data" / f"{name}.parquet")
        manifest.append({"name": name, "task": task, "target": "target", "group": name})
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A finished build with 6 candidates per task type, made by the installed command."""
    work = tmp_path_factory.mktemp("build")
    corpus = write_corpus(work / "corpus")
    out = work / "portfolios"
    result = subprocess.run(
        [str(AUTOMETA), "portfolio", "build", "--corpus", str(corpus), "--out", str(out),
         "--candidates", "6", *FAST], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return out


def lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def test_build_searches_every_task_and_fills_the_matrix(built):
    meta = built / "metadata"
    searched = Counter(r["task"] for r in read_jsonl(meta / "search.jsonl") if not r.get("done"))
    assert searched == {"cancer": 3, "wine": 3, "diabetes": 3}
    cands = json.loads((meta / "candidates.json").read_text())
    assert {t: len(c) for t, c in cands.items()} == {"classification": 6, "regression": 6}
    cells = Counter((r["task"], r["candidate"]) for r in read_jsonl(meta / "matrix.jsonl"))
    assert len(cells) == 2 * 6 + 6 and set(cells.values()) == {1}
    assert json.loads((meta / "fidelity.json").read_text())["max_rows"] == 120


def test_the_portfolios_load_and_their_configurations_are_valid(built):
    for task in ("classification", "regression"):
        portfolio = pf.load(task, built / f"{task}.json")
        n_tasks = 2 if task == "classification" else 1
        assert portfolio.losses.shape == (n_tasks, 6)
        assert portfolio.provenance["candidates"] == 6
        cs = space_for(task)
        for config in portfolio.configs:
            configuration(cs, config)  # raises when invalid


def test_the_transfer_sources_are_written_with_the_successful_trials(built):
    from autometa.metalearning.transfer_build import observed_trials
    from autometa.transfer import load as load_transfer
    from autometa.transfer import task_rows

    trials = observed_trials(built / "metadata")
    for task, names in (("classification", {"cancer", "wine"}), ("regression", {"diabetes"})):
        sources = load_transfer(task, built / f"transfer_{task}.json.gz")
        assert set(sources.names) == names
        for t in sources.tasks:
            configs, _ = task_rows(trials[t.name])
            assert [sources.configs[j] for j in t.configs] == configs


def test_the_hp_learners_are_trained_on_the_transfer_sources(built):
    from autometa import hplearner
    from autometa.metalearning.build import space_for
    from autometa.transfer import read

    for task in ("classification", "regression"):
        learner = hplearner.load(task, built / f"hplearner_{task}.json.gz")
        assert learner is not None and learner.matches(space_for(task))
        space = space_for(task)
        arrays = [c.get_array() for c in space.sample_configuration(5)]
        assert np.isfinite(learner.predict({}, arrays)).all()
        # trained from the shipped sources, so the package alone reproduces it
        again = hplearner.train(read(task, built / f"transfer_{task}.json.gz"), space, seed=0)
        for shipped, retrained in zip(learner.params, again.params, strict=True):
            np.testing.assert_array_equal(shipped, retrained)


def test_a_rerun_continues_after_a_cut_line_and_repeats_nothing(built, tmp_path):
    meta = shutil.copytree(built / "metadata", tmp_path / "metadata")
    with (meta / "matrix.jsonl").open("a") as f:
        f.write('{"task": "wine", "candid')  # a line cut by an interruption
    before = {name: lines(meta / name) for name in ("search.jsonl", "matrix.jsonl")}
    tasks = load_corpus(built.parent / "corpus")
    build_metadata(tasks, meta, n_workers=1, n_candidates=6, log=lambda _: None)
    assert {name: lines(meta / name) for name in before} == before


def test_more_candidates_keep_the_old_ones_and_evaluate_only_new_cells(built, tmp_path):
    meta = shutil.copytree(built / "metadata", tmp_path / "metadata")
    old = json.loads((meta / "candidates.json").read_text())
    tasks = load_corpus(built.parent / "corpus")
    build_metadata(tasks, meta, n_workers=1, phases=("matrix",), n_candidates=8,
                   log=lambda _: None)
    new = json.loads((meta / "candidates.json").read_text())
    for task in ("classification", "regression"):
        assert set(old[task]) < set(new[task]) and len(new[task]) == 8
    cells = Counter((r["task"], r["candidate"]) for r in read_jsonl(meta / "matrix.jsonl"))
    assert len(cells) == 2 * 8 + 8 and set(cells.values()) == {1}


def test_the_repair_phase_evaluates_failed_search_trials_again_once(built, tmp_path):
    meta = shutil.copytree(built / "metadata", tmp_path / "metadata")
    records = read_jsonl(meta / "search.jsonl")
    broken = next(r for r in records if r.get("task") == "wine" and r.get("status") == "ok")
    broken.update(loss=None, status="error", error="ValueError: a bug fixed since")
    (meta / "search.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    tasks = load_corpus(built.parent / "corpus")

    build_metadata(tasks, meta, n_workers=1, phases=("repair",), log=lambda _: None)
    repairs = read_jsonl(meta / "repairs.jsonl")
    assert [(r["task"], r["trial"], r["status"]) for r in repairs] == [
        ("wine", broken["trial"], "ok")]
    merged = next(r for r in search_records(meta)
                  if r.get("task") == "wine" and r.get("trial") == broken["trial"])
    assert merged["status"] == "ok" and merged["config"] == broken["config"]
    assert np.isfinite(merged["loss"])

    build_metadata(tasks, meta, n_workers=1, phases=("repair",), log=lambda _: None)
    assert lines(meta / "repairs.jsonl") == 1  # each failed trial is evaluated once


def test_an_unknown_corpus_folder_is_a_clear_error(tmp_path):
    result = subprocess.run([str(AUTOMETA), "portfolio", "build", "--corpus", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "manifest.json" in result.stderr and "Traceback" not in result.stderr


def test_corpus_frames_round_trip(tmp_path):
    tasks = load_corpus(write_corpus(tmp_path / "c"), "regression")
    X, y = tasks[0].load()
    assert isinstance(X, pd.DataFrame) and len(X) == len(y) == 120
