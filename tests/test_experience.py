"""The experience store: records, concurrency, schema versions, and how fits read it."""

from __future__ import annotations

import dataclasses
import multiprocessing
import sqlite3
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from autometa import AutoMetaClassifier
from autometa.callbacks import Callback
from autometa.experience import (
    ENV,
    RECORD_KEYS,
    SCHEMA_VERSION,
    ExperienceError,
    ExperienceStore,
    read_records,
    store_path,
)
from autometa.experience_use import FitExperience, augment, open_experience
from autometa.initial_design import InitialDesign
from autometa.portfolio import Pick, Portfolio
from autometa.regret import agreement

A = [0.1, 0.2, 0.3, 0.0, 0.5]
B = [0.3, 0.2, 0.1, 0.5, 0.0]


def shipped() -> Portfolio:
    """Three tasks around (0, 0) ranking the candidates as A, three around (5, 5) as B."""
    return Portfolio(
        task="regression", metafeature_names=("f1", "f2"),
        tasks=("a1", "a2", "a3", "b1", "b2", "b3"), groups=("a1", "a2", "a3", "b1", "b2", "b3"),
        metafeatures=np.array([[0, 0], [0.2, 0], [0, 0.2], [5, 5], [5.2, 5], [5, 5.2]], float),
        configs=tuple({"model": "linear", "id": i} for i in range(5)),
        sources=("default",) * 5, source_groups=("default",) * 5,
        losses=np.array([A] * 3 + [B] * 3), times=np.ones((6, 5)), fit_rows=np.full(6, 100.0),
    )


def record(uid: str, tag: str | None = "t", losses: dict | None = None, *,
           fingerprint: str = "fp", table: str = "table", f: tuple = (10.0, 10.0),
           task: str = "regression", n_classes: int | None = None, created: float = 1e9,
           outcome: str = "ok") -> dict:
    """A stored fit whose trials are configurations ``{"model": "linear", "id": i}``
    with the given losses (``None``: failed)."""
    losses = {7: 0.01, 8: 0.02, 0: 0.5, 9: None} if losses is None else losses
    trials = [{"trial": n, "family": "linear", "config": {"model": "linear", "id": i},
               "origin": "smac", "status": "ok" if loss is not None else "error",
               "loss": loss, "fit_time": 0.1, "predict_time": 0.01, "wall_time": 0.2,
               "error": "" if loss is not None else "boom", "fidelity": None}
              for n, (i, loss) in enumerate(losses.items())]
    return {"uid": uid, "created": created, "tag": tag, "fingerprint": fingerprint,
            "table_key": table, "task": task, "metric": "neg_root_mean_squared_error",
            "n_classes": n_classes, "n_rows": 100, "n_columns": 2, "fit_rows": 200,
            "resampling": "cv:3", "outcome": outcome, "fit_time": 3.0,
            "metafeatures": {"f1": f[0], "f2": f[1], "simple.nan": None},
            "versions": {"autometa": "0.1.0"}, "ensemble": [{"trial": 0, "weight": 1.0}],
            "trials": trials}


def link(store: ExperienceStore, fingerprint: str = "new", table: str = "other"
         ) -> FitExperience:
    return FitExperience(store, "now", fingerprint, table, "uid-now")


# -- the store ----------------------------------------------------------------------------------


def test_a_record_round_trips_through_the_store_and_a_json_lines_file(tmp_path):
    store = ExperienceStore(tmp_path / "s.db")
    rec = record("u1")
    fit_id = store.add(rec)
    got = store.get(fit_id)
    assert got.pop("id") == fit_id
    assert got == rec
    [summary] = store.list()
    assert (summary["n_trials"], summary["best_loss"], summary["tag"]) == (4, 0.01, "t")
    assert store.export_records(tmp_path / "x.jsonl") == 1
    assert list(read_records(tmp_path / "x.jsonl")) == [rec]
    other = ExperienceStore(f"sqlite:///{tmp_path / 'o.db'}")
    assert other.import_records(tmp_path / "x.jsonl") == 1
    assert other.import_records(tmp_path / "x.jsonl") == 0  # merging skips known fits
    assert [r["uid"] for r in other.records()] == ["u1"]


def test_the_store_is_an_sqlite_file_in_wal_mode_with_its_schema_version(tmp_path):
    store = ExperienceStore(tmp_path / "s.db")
    assert store.schema_version == 0
    store.add(record("u1"))
    conn = sqlite3.connect(tmp_path / "s.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    assert store.schema_version == SCHEMA_VERSION


def test_adding_a_record_again_replaces_it_and_prune_deletes_by_age_and_tag(tmp_path):
    store = ExperienceStore(tmp_path / "s.db")
    store.add(record("u1", losses={1: 0.3}))
    store.add(record("u1", losses={1: 0.3, 2: 0.2}))  # a continued fit
    assert [r["n_trials"] for r in store.list()] == [2]
    store.add(record("u2", tag="keep", created=2e9))
    store.add(record("u3", tag="drop", created=2e9))
    assert store.prune() == 0
    assert store.prune(older_than=30) == 1  # u1, recorded in 2001
    assert store.prune(tag="drop") == 1
    assert [r["uid"] for r in store.list()] == ["u2"]
    con = sqlite3.connect(tmp_path / "s.db")
    assert con.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 4  # u2's only


def _write_many(args) -> None:
    path, worker, n = args
    store = ExperienceStore(path)
    for i in range(n):
        store.add(record(f"w{worker}-{i}", losses={j: 0.1 * j for j in range(30)}))


def test_several_processes_writing_at_once_lose_nothing(tmp_path):
    path = str(tmp_path / "s.db")
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pool.map(_write_many, [(path, w, 15) for w in range(4)])
    store = ExperienceStore(path)
    assert len(store.list()) == 60
    assert sorted(r["uid"] for r in store.list()) == sorted(
        f"w{w}-{i}" for w in range(4) for i in range(15))
    assert all(r["n_trials"] == 30 for r in store.list())


V1_SCHEMA = [  # the first format, as autometa wrote it, to check the upgrade from it
    """CREATE TABLE fits (id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, created REAL NOT NULL,
       tag TEXT, fingerprint TEXT, task TEXT NOT NULL, metric TEXT, n_classes INTEGER,
       n_rows INTEGER, n_columns INTEGER, outcome TEXT, fit_time REAL, metafeatures TEXT,
       versions TEXT, ensemble TEXT)""",
    """CREATE TABLE trials (fit_id INTEGER NOT NULL REFERENCES fits(id) ON DELETE CASCADE,
       trial INTEGER NOT NULL, family TEXT, config TEXT NOT NULL, origin TEXT,
       status TEXT NOT NULL, loss REAL, fit_time REAL, predict_time REAL, wall_time REAL,
       error TEXT, PRIMARY KEY (fit_id, trial)) WITHOUT ROWID""",
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "INSERT INTO schema_version VALUES (1)",
    """INSERT INTO fits VALUES (1, 'old', 1.5e9, 'v1', 'fp', 'regression', 'r2', NULL, 50, 2,
       'ok', 2.0, '{"f1": 1.0, "f2": 2.0}', '{}', '[]')""",
    """INSERT INTO trials VALUES (1, 0, 'linear', '{"id": 3, "model": "linear"}', 'smac', 'ok',
       0.25, 0.1, 0.01, 0.2, '')""",
]


def test_a_store_of_the_first_schema_version_is_upgraded_when_opened(tmp_path):
    conn = sqlite3.connect(tmp_path / "old.db")
    for statement in V1_SCHEMA:
        conn.execute(statement)
    conn.commit()
    conn.close()
    store = ExperienceStore(tmp_path / "old.db")
    assert store.schema_version == 1
    [old] = store.list()  # reading upgrades it
    assert store.schema_version == SCHEMA_VERSION
    assert (old["uid"], old["tag"], old["best_loss"]) == ("old", "v1", 0.25)
    got = store.get(old["id"])
    assert got["table_key"] is None and got["resampling"] is None
    assert got["trials"][0]["config"] == {"id": 3, "model": "linear"}
    store.add(record("new", created=2e9))
    new, old = store.sources("regression")
    assert (new["uid"], old["uid"]) == ("new", "old")
    assert old["metafeature_names"] == ("f1", "f2")  # the upgrade made its vector
    np.testing.assert_array_equal(old["vector"], [1.0, 2.0])


def test_a_newer_schema_a_foreign_database_and_a_server_url_are_refused(tmp_path):
    path = tmp_path / "s.db"
    ExperienceStore(path).add(record("u1"))
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(ExperienceError, match="schema version 99"):
        ExperienceStore(path).list()
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)")
    with pytest.raises(ExperienceError, match="not an experience store"):
        ExperienceStore(other).add(record("u1"))
    with pytest.raises(ExperienceError, match="not server databases"):
        ExperienceStore("postgresql://host/db")
    assert store_path("sqlite:///rel/s.db") == (store_path("rel/s.db")[0], False)
    assert store_path("sqlite:////abs/s.db?mode=ro")[0].as_posix() == "/abs/s.db"
    assert store_path("sqlite:////abs/s.db?mode=ro")[1]


def test_sources_are_the_fits_of_the_same_task_and_kind_with_a_success(tmp_path):
    store = ExperienceStore(tmp_path / "s.db")
    store.add(record("reg"))
    store.add(record("bin", task="classification", n_classes=2))
    store.add(record("multi", task="classification", n_classes=3))
    store.add(record("failed", outcome="failed"))
    assert [r["uid"] for r in store.sources("regression")] == ["reg"]
    assert [r["uid"] for r in store.sources("classification", 2)] == ["bin"]
    assert [r["uid"] for r in store.sources("classification", 5)] == ["multi"]
    [reg] = store.sources("regression")
    assert reg["metafeature_names"] == ("f1", "f2", "simple.nan")
    np.testing.assert_array_equal(reg["vector"], [10.0, 10.0, np.nan])


# -- reading it at the start of a fit -----------------------------------------------------------


def test_unobserved_cells_count_in_neither_direction_of_the_agreement():
    regret = np.array([[0.0, 0.5, 1.0], [1.0, 0.5, 0.0]])
    observed = np.array([[True, True, True], [True, False, False]])
    tau = agreement(np.array([1.0, 2.0, 3.0]), regret, observed)
    np.testing.assert_allclose(tau, [1.0, 0.0])  # task 2 knows no pair: no evidence


def test_stored_fits_join_the_portfolio_as_sparse_source_tasks(tmp_path):
    store = ExperienceStore(tmp_path / "s.db")
    store.add(record("u1", losses={7: 0.01, 8: 0.02, 0: 0.5, 9: None, 6: 0.03}))
    p = shipped()
    valid = lambda config: config["id"] != 6  # noqa: E731 (6: not in the space any more)
    augmented, pins = augment(p, link(store), {"f1": 10.0, "f2": 10.0}, None, valid)
    assert pins == []  # another table
    assert augmented.tasks[-1] == "experience:t" and augmented.stored.tolist() == [0] * 6 + [1]
    # its successful configurations join the candidates, except 6 (invalid now)
    assert [c["id"] for c in augmented.configs] == [0, 1, 2, 3, 4, 7, 8]
    assert augmented.sources[-2:] == ("experience:t",) * 2
    assert augmented.observed[-1].tolist() == [True] + [False] * 4 + [True] * 2
    assert not augmented.observed[:6, 5:].any() and augmented.observed[:6, :5].all()
    np.testing.assert_allclose(augmented.center, p.center)  # stored tasks do not move it
    regret = augmented.regret
    assert regret[-1, 5] == 0.0 and regret[-1, 0] == 1.0  # its best and its worst
    assert regret[0, 5] == np.median(regret[0, :5])  # unknown: a typical candidate


def test_the_nearest_stored_task_chooses_and_the_pick_says_so(tmp_path):
    store = ExperienceStore(tmp_path / "s.db")
    store.add(record("u1"))
    augmented, _ = augment(shipped(), link(store), {"f1": 10.0, "f2": 10.0}, None,
                           lambda c: True)
    [pick] = augmented.select({"f1": 10.0, "f2": 10.0}, 1, k=1)
    assert pick.config == {"model": "linear", "id": 7}  # the stored task's best
    [near_a] = augmented.select({"f1": 0.1, "f2": 0.1}, 1, k=1)
    assert near_a.config == {"model": "linear", "id": 3}  # the shipped A tasks' best
    design = InitialDesign(augmented, "auto", {"f1": 10.0, "f2": 10.0}, n=3)
    assert design._labelled(pick).reason == "experience:t"
    assert design._labelled(near_a).reason == near_a.reason
    moved = Pick(near_a.config, "knn:experience:t")  # a stored neighbour moved it up
    assert design._labelled(moved).reason == "experience:t"


def test_a_stored_fit_of_the_same_table_is_handed_out_first(tmp_path):
    store = ExperienceStore(tmp_path / "s.db")
    store.add(record("old", tag="older", losses={3: 0.001}, fingerprint="same", created=1e9))
    store.add(record("u1", tag="churn", fingerprint="same", created=2e9))
    store.add(record("far", tag="far", fingerprint="x", table="tbl", f=(50.0, 50.0)))
    mf = {"f1": 1.0, "f2": 1.0}
    augmented, pins = augment(shipped(), link(store, fingerprint="same"), mf, None,
                              lambda c: True)
    assert [p.config["id"] for p in pins] == [7, 8, 0]  # the latest fit's best, in order
    assert {p.reason for p in pins} == {"experience:churn"}
    design = InitialDesign(augmented, "auto", mf, n=5, pinned=pins)
    tried = []
    for _ in range(5):
        config = design(tried)
        tried.append((config, 0.1))
    assert [c["id"] for c, _ in tried[:3]] == [7, 8, 0]
    assert [design.origin(c) for c, _ in tried[:3]] == ["experience"] * 3
    assert len({c["id"] for c, _ in tried}) == 5  # then the portfolio goes on, no repeat
    # same columns (table key), other rows: pinned only when the meta-features are close
    _, near = augment(shipped(), link(store, table="tbl"), {"f1": 50.0, "f2": 50.0}, None,
                      lambda c: True)
    _, far = augment(shipped(), link(store, table="tbl"), mf, None, lambda c: True)
    assert [p.reason for p in near] == ["experience:far"] * 3 and far == []


def test_the_same_tables_pins_keep_to_the_families_searched(tmp_path):
    from autometa.initial_design import portfolio_design

    store = ExperienceStore(tmp_path / "s.db")
    store.add(record("u1", fingerprint="same"))
    p = shipped()
    p = dataclasses.replace(p, configs=(*p.configs[:4], {"model": "knn", "id": 4}))
    mf = {"f1": 1.0, "f2": 1.0}
    both = portfolio_design("regression", "auto", mf, 4, ["linear", "knn"], source=p,
                            experience=link(store, fingerprint="same"))
    assert [pick.config["id"] for pick in both.pinned] == [7, 8, 0]
    knn = portfolio_design("regression", "auto", mf, 4, ["knn"], source=p,
                           experience=link(store, fingerprint="same"))
    assert knn.pinned == [] and [c["id"] for c in knn.portfolio.configs] == [4]


# -- errors never break a fit -------------------------------------------------------------------


def _bad_stores(tmp_path) -> dict:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database" * 100)
    newer = tmp_path / "newer.db"
    ExperienceStore(newer).add(record("u1"))
    conn = sqlite3.connect(newer)
    conn.execute("UPDATE schema_version SET version = 99")
    conn.commit()
    conn.close()
    return {"corrupt": str(corrupt), "newer": str(newer)}


@pytest.mark.parametrize("kind", ["corrupt", "newer"])
def test_an_unusable_store_warns_once_and_is_left_alone(tmp_path, kind):
    location = _bad_stores(tmp_path)[kind]
    before = open(location, "rb").read()
    fit = open_experience(location, "t", "fp", "table")
    with pytest.warns(UserWarning, match="shipped portfolio alone") as caught:
        portfolio, pins = fit.learn(shipped(), {"f1": 1.0, "f2": 1.0}, None, lambda c: True)
        fit.guard(lambda: fit.store.add(record("u9")), "record this fit in")
    assert len(caught) == 1 and not fit.active
    assert portfolio.tasks == shipped().tasks and pins == []
    assert open(location, "rb").read() == before


def test_a_read_only_store_is_read_and_warns_when_the_fit_is_recorded(tmp_path):
    path = tmp_path / "s.db"
    ExperienceStore(path).add(record("u1", fingerprint="same"))
    fit = open_experience(f"sqlite:///{path}?mode=ro", "t", "same", "table")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, pins = fit.learn(shipped(), {"f1": 1.0, "f2": 1.0}, None, lambda c: True)
    assert [p.config["id"] for p in pins] == [7, 8, 0]
    with pytest.warns(UserWarning, match="Could not record this fit"):
        fit.guard(lambda: fit.store.add(record("u2")), "record this fit in")
    assert [r["uid"] for r in ExperienceStore(path).list()] == ["u1"]


def test_the_estimators_read_the_environment_at_fit_time_only(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, str(tmp_path / "env.db"))
    clf = AutoMetaClassifier(experience_tag="churn")
    assert clf.get_params()["experience"] is None
    assert clone(clf).get_params()["experience_tag"] == "churn"
    assert open_experience(None, "t", "fp", "tbl").store.path == tmp_path / "env.db"
    assert open_experience(False, "t", "fp", "tbl") is None
    given = open_experience(str(tmp_path / "given.db"), "t", "fp", "tbl")
    assert given.store.path == tmp_path / "given.db"
    monkeypatch.delenv(ENV)
    assert open_experience(None, "t", "fp", "tbl") is None
    with pytest.warns(UserWarning, match="not server databases"):
        assert open_experience("postgresql://host/db", "t", "fp", "tbl") is None
    store = ExperienceStore(tmp_path / "s.db")
    assert clone(AutoMetaClassifier(experience=store)).experience.path == store.path
    with pytest.raises(ValueError, match="experience"):
        AutoMetaClassifier(experience=True).fit(np.zeros((20, 2)), [0, 1] * 10)


# -- real fits ----------------------------------------------------------------------------------

SMALL = {"include": ["linear", "knn"], "time_budget": 30, "n_initial_configs": 4}


@pytest.mark.slow
def test_a_second_fit_of_the_same_table_starts_from_the_first_ones_best(tmp_path):
    from tests.conftest import mixed_frame

    X, y = mixed_frame(200)
    path = tmp_path / "s.db"
    first = AutoMetaClassifier(max_evals=5, random_state=0, experience=str(path),
                               experience_tag="mixed", **SMALL).fit(X, y)
    [stored] = ExperienceStore(path).list()
    assert (stored["tag"], stored["n_trials"], stored["outcome"]) == ("mixed", 5, "ok")
    assert stored["best_loss"] == pytest.approx(-first.best_score_)
    second = AutoMetaClassifier(max_evals=4, random_state=1, experience=str(path),
                                experience_tag="mixed", **SMALL).fit(X, y)
    assert second.trials_[0].config == first.best_config_
    assert second.trials_[0].origin == "experience"
    assert second.initial_configs_[0]["reason"] == "experience:mixed"
    assert "experience" not in {t.origin for t in first.trials_}
    record = ExperienceStore(path).get(2)
    assert record["trials"][0]["origin"] == "experience"
    assert sum(m["weight"] for m in record["ensemble"]) == pytest.approx(1.0)
    finite = {k: v for k, v in second.metafeatures_.items() if np.isfinite(v)}
    assert {k: record["metafeatures"][k] for k in finite} == pytest.approx(finite)


class _StopAfter(Callback):
    def __init__(self, n: int) -> None:
        self.n, self.seen = n, 0

    def on_trial(self, trial) -> None:
        self.seen += 1
        if self.seen == self.n:
            raise KeyboardInterrupt


@pytest.mark.slow
def test_an_interrupted_fit_is_recorded_in_the_store_the_environment_names(tmp_path,
                                                                            monkeypatch):
    from tests.conftest import mixed_frame

    monkeypatch.setenv(ENV, f"sqlite:///{tmp_path / 'env.db'}")
    X, y = mixed_frame(200)
    clf = AutoMetaClassifier(random_state=0, callbacks=[_StopAfter(3)], **SMALL)
    with pytest.warns(UserWarning, match="interrupted after 3 trials"):
        clf.fit(X, y)
    [stored] = ExperienceStore(tmp_path / "env.db").list()
    assert (stored["outcome"], stored["n_trials"]) == ("interrupted", 3)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["corrupt", "newer", "read-only", "locked"])
def test_a_fit_with_an_unusable_store_warns_once_and_succeeds(tmp_path, kind):
    from tests.conftest import mixed_frame

    stores = _bad_stores(tmp_path)
    path = tmp_path / "ok.db"
    ExperienceStore(path).add(record("u1", task="classification", n_classes=2))
    stores["read-only"] = f"sqlite:///{path}?mode=ro"
    stores["locked"] = ExperienceStore(path, timeout=0.5)
    holder = sqlite3.connect(path, isolation_level=None)
    if kind == "locked":
        holder.execute("BEGIN EXCLUSIVE")  # another writer that does not let go
    X, y = mixed_frame(200)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = AutoMetaClassifier(max_evals=3, random_state=0, experience=stores[kind],
                                 **SMALL).fit(X, y)
    ours = [w for w in caught if "experience store" in str(w.message)]
    assert len(ours) == 1 and issubclass(ours[0].category, UserWarning)
    assert len(clf.trials_) == 3 and clf.predict(X).shape == (200,)
    holder.close()
    assert [r["uid"] for r in ExperienceStore(path).list()] == ["u1"]


@pytest.mark.slow
def test_the_command_line_fits_into_a_store_and_manages_it(tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import mixed_frame

    X, y = mixed_frame(150)
    X.assign(target=y).to_csv(tmp_path / "train.csv", index=False)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    env.pop(ENV, None)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "autometa.cli", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=300)

    fit = run("fit", "train.csv", "--target", "target", "--time-budget", "20", "--max-evals",
              "2", "--include", "linear,knn", "--seed", "0", "--quiet",
              "--experience", "store.db", "--experience-tag", "train")
    assert fit.returncode == 0, fit.stderr
    again = run("fit", "train.csv", "--target", "target", "--time-budget", "20",
                "--max-evals", "2", "--include", "linear,knn", "--seed", "1", "--quiet",
                "--experience", "store.db", "--experience-tag", "train")
    assert again.returncode == 0 and "from experience" in again.stdout
    helped = run("fit", "--help")
    assert "--experience" in helped.stdout and ENV in helped.stdout
    listed = run("experience", "list", "--store", "store.db")
    assert listed.returncode == 0 and "train" in listed.stdout
    assert len(listed.stdout.strip().splitlines()) == 3  # a header and two fits
    shown = json.loads(run("experience", "show", "1", "--store", "store.db").stdout)
    assert shown["tag"] == "train" and len(shown["trials"]) == 2
    assert set(shown) == {"id", *RECORD_KEYS}  # the documented keys, never the data
    assert run("experience", "export", "out.jsonl", "--store", "store.db").returncode == 0
    env[ENV] = "sqlite:///merged.db"  # the default store
    imported = run("experience", "import", "out.jsonl")
    assert imported.returncode == 0 and "imported 2 fits" in imported.stdout
    repeated = run("experience", "import", "out.jsonl")
    assert "imported 0 fits" in repeated.stdout
    assert json.loads(run("experience", "list", "--json").stdout)[0]["uid"] == shown["uid"]
    pruned = run("experience", "prune", "--tag", "train")
    assert pruned.returncode == 0 and "deleted 2 fits" in pruned.stdout
    assert ExperienceStore(tmp_path / "merged.db").list() == []
    missing = run("experience", "show", "7", "--store", "store.db")
    assert missing.returncode == 2 and "no fit with id 7" in missing.stderr


@pytest.mark.slow
def test_a_failed_fit_records_its_trials_and_is_no_source(tmp_path):
    from tests import faulty
    from tests.conftest import mixed_frame

    X, y = mixed_frame(60)
    clf = AutoMetaClassifier(time_budget=10, max_evals=2, include=["faulty_raise"],
                             extra_models=[faulty.RAISES], random_state=0,
                             experience=str(tmp_path / "s.db"))
    with pytest.raises(RuntimeError, match="All 2 trials failed"):
        clf.fit(X, y)
    store = ExperienceStore(tmp_path / "s.db")
    [stored] = store.list()
    assert (stored["outcome"], stored["n_trials"], stored["best_loss"]) == ("failed", 2, None)
    assert store.sources("classification", 2) == []


@pytest.mark.slow
def test_a_continued_fit_replaces_its_record(tmp_path):
    from tests.conftest import mixed_frame

    X, y = mixed_frame(150)
    clf = AutoMetaClassifier(max_evals=3, random_state=0, warm_start=True,
                             experience=str(tmp_path / "s.db"), **SMALL).fit(X, y)
    clf.set_params(max_evals=2).fit(X, y)  # continues the search: 5 trials in all
    [stored] = ExperienceStore(tmp_path / "s.db").list()
    assert stored["n_trials"] == 5 == len(clf.trials_)


def test_only_the_highest_successful_fidelity_of_a_stored_fit_counts():
    from autometa.experience_use import top_fidelity

    trials = [{"status": "ok", "fidelity": 100, "loss": 0.1},
              {"status": "ok", "fidelity": 300, "loss": 0.3},
              {"status": "timeout", "fidelity": 900, "loss": None},
              {"status": "ok", "fidelity": 300, "loss": 0.2}]
    assert top_fidelity(trials) == [trials[1], trials[3]]
    assert top_fidelity([{"status": "ok", "loss": 0.1}]) == [{"status": "ok", "loss": 0.1}]


def test_a_store_of_schema_version_2_gains_the_trials_fidelity(tmp_path):
    store = ExperienceStore(tmp_path / "x.db")
    store.add(record("u1"))
    conn = sqlite3.connect(tmp_path / "x.db")
    conn.execute("ALTER TABLE trials DROP COLUMN fidelity")
    conn.execute("UPDATE schema_version SET version = 2")
    conn.commit()
    conn.close()
    reopened = ExperienceStore(tmp_path / "x.db")
    (got,) = list(reopened.records())
    assert reopened.schema_version == SCHEMA_VERSION == 3
    assert [t["fidelity"] for t in got["trials"]] == [None] * 4
