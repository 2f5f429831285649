"""Trials on Dask: a real LocalCluster with 2 workers, a user's Client, lost workers."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from ConfigSpace import Float
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from autometa import AutoMetaClassifier
from autometa.components import ModelSpec
from autometa.components.base import subspace
from autometa.dask_pool import DaskPool
from autometa.evaluation import Evaluation
from autometa.sandbox import Job
from tests.conftest import mixed_frame
from tests.test_pool import _data

distributed = pytest.importorskip("distributed")


class KillsItsWorker(ClassifierMixin, BaseEstimator):
    """Kills the process that runs its sandbox: the Dask worker, mid-trial."""

    def __init__(self, x: float = 0.5):
        self.x = x

    def fit(self, X, y):
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(60)


KILLER = ModelSpec("worker_killer", ("classification",),
                   lambda task: subspace([Float("x", (0.0, 1.0), default=0.5)]),
                   lambda params, ctx: KillsItsWorker(params["x"]))


@pytest.fixture(scope="module")
def cluster():
    """A real two-process cluster, as a user would start one (a lost task is not retried)."""
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as local, \
            distributed.Client(local) as client:
        yield client


def test_pool_runs_jobs_on_both_workers(cluster):
    from autometa.components import registry
    from autometa.space import family_default

    pool = DaskPool(client=cluster)
    pool.start()
    pool.set_data(_data())
    assert pool.capacity == 2
    assert pool.local_cores == 1  # a user's cluster: its workers' cores are not known
    config = family_default(registry()["linear"], "classification")
    with distributed.get_task_stream(cluster) as stream:
        for i in range(4):
            pool.submit(Job(i, Evaluation(config, 0), time.monotonic() + 120, 60))
        results = []
        while len(results) < 4:
            results += pool.wait(5.0)
    pool.close()
    assert all(r.ok for r in results), [r.error for r in results]
    workers = {t["worker"] for t in stream.data if t["key"].startswith("autometa-")}
    assert len(workers) == 2
    assert cluster.status == "running"  # a user's client is left connected


def test_fit_on_a_users_client_and_a_killed_worker_is_a_failed_trial(cluster):
    X, y = mixed_frame(150)
    clf = AutoMetaClassifier(time_budget=40, max_evals=6, dask_client=cluster,
                             include=["linear", "worker_killer"], extra_models=[KILLER],
                             meta_learning="off", random_state=0).fit(X, y)
    board = clf.leaderboard()
    killed = board[board["family"] == "worker_killer"]
    assert len(killed) and (killed["status"] == "crashed").all()
    assert (board["status"] == "ok").any()
    assert clf.predict(X).shape == (150,)
    copy = clone(clf)
    assert copy.dask_client is cluster and copy.get_params()["include"] == clf.include
    unfitted = AutoMetaClassifier(dask_client=cluster)
    assert pickle.loads(pickle.dumps(unfitted)).dask_client is None  # a client does not pickle


def test_a_closed_client_is_refused_with_what_to_pass():
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=1,
                                  dashboard_address=None) as local:
        client = distributed.Client(local)
        pool = DaskPool(2, client=client)
        client.close()
    with pytest.raises(ValueError, match=r"dask_client is closed.*open distributed\.Client"):
        DaskPool(2, client=client)
    with pytest.raises(ValueError, match="closed"):
        pool.start()  # closed after the pool was made


@pytest.mark.slow
def test_n_jobs_2_works_from_a_script_without_a_main_guard(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent("""
        from sklearn.datasets import load_breast_cancer
        from autometa import AutoMetaClassifier
        X, y = load_breast_cancer(return_X_y=True)
        clf = AutoMetaClassifier(time_budget=25, n_jobs=2, max_evals=6, random_state=0)
        clf.fit(X, y)
        print("trials", len(clf.leaderboard()), "accuracy", clf.score(X, y))
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "trials 6" in done.stdout


def test_an_unused_local_cluster_is_closed_after_the_idle_timeout(monkeypatch):
    from autometa import pool as pools

    monkeypatch.setattr(pools, "IDLE_TIMEOUT", 0.3)
    with pools.borrowed_pool(2) as pool:
        pool.start()
        cluster = pool._cluster
    deadline = time.monotonic() + 20
    while str(cluster.status) != "Status.closed" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert str(cluster.status) == "Status.closed" and 2 not in pools._idle
