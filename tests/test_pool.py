"""The sandbox pool: generic jobs, results, and fold models sent back on request."""

import operator
import threading
import time

import numpy as np
import psutil
import pytest

from autometa import pool as pools
from autometa.components import registry
from autometa.evaluation import Evaluation, predict_pipeline
from autometa.pool import LocalPool, borrowed_pool, run_jobs
from autometa.sandbox import Job, _malloc_trim, trim_heap
from autometa.space import family_default
from tests.conftest import mixed_frame, task_data


def _data():
    return task_data(*mixed_frame(120))


def _evaluation(name: str, keep_models_below: float = -np.inf) -> Evaluation:
    return Evaluation(family_default(registry()[name], "classification"), 0,
                      keep_models_below=keep_models_below)


def test_a_job_is_any_picklable_callable_of_the_data():
    data = _data()
    pool = LocalPool(1)
    try:
        pool.set_data(data)
        jobs = [Job("rows", operator.attrgetter("y.shape"), time.monotonic() + 60),
                Job("boom", operator.itemgetter("missing"), time.monotonic() + 60)]
        results = {r.job.key: r for r in run_jobs(pool, jobs)}
        assert results["rows"].ok and results["rows"].value == (120,)
        assert results["boom"].status == "error" and "TypeError" in results["boom"].error
    finally:
        pool.close()


def test_fold_models_come_back_only_below_the_loss_asked_for():
    data = _data()
    pool = LocalPool(1)
    try:
        pool.set_data(data)
        first = next(run_jobs(pool, [Job(0, _evaluation("linear", np.inf), np.inf, 60)])).value
        assert first.models is not None
        jobs = [Job(1, _evaluation("linear", first.loss), np.inf, 60),  # not below: a tie
                Job(2, _evaluation("linear"), np.inf, 60)]  # the default: never
        assert all(r.value.models is None for r in run_jobs(pool, jobs))
        proba = predict_pipeline(first.models, data.X, "classification", 2)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    finally:
        pool.close()


def test_run_jobs_cancels_what_runs_at_the_deadline():
    pool = LocalPool(1)
    try:
        pool.set_data(_data())
        slow = Job("slow", _evaluation("mlp"), np.inf, 60)
        start = time.monotonic()
        assert list(run_jobs(pool, [slow], deadline=start + 0.3)) == []
        assert time.monotonic() - start < 5 and pool.idle() == 1
    finally:
        pool.close()


def test_an_unused_pool_is_closed_after_the_idle_timeout(monkeypatch):
    monkeypatch.setattr(pools, "IDLE_TIMEOUT", 0.2)
    with borrowed_pool(1) as pool:
        pool.start()
        process = pool.sandboxes[0].proc
    deadline = time.monotonic() + 10
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is not None  # the worker process has ended
    assert 1 not in pools._idle
    assert not any(isinstance(t, threading.Timer) and t.is_alive() and pool in t.args
                   for t in threading.enumerate())  # its closer has finished too


@pytest.mark.skipif(_malloc_trim() is None, reason="no malloc_trim")
def test_trim_heap_hands_memory_freed_below_a_live_block_back():
    def rss_mb() -> float:
        return psutil.Process().memory_info().rss / 2**20

    base = rss_mb()
    blocks = [bytearray(64 * 1024) for _ in range(3200)]  # 200 MB of heap (not mmap) blocks
    pin = bytearray(64 * 1024)  # allocated above them: the heap cannot shrink from its top
    assert rss_mb() - base > 150
    del blocks
    trim_heap()
    assert rss_mb() - base < 50
    assert len(pin) == 64 * 1024
