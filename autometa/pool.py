"""Executors: where jobs run. The :class:`Executor` protocol and the local sandbox pool.

:class:`LocalPool` runs sandboxes on this machine, :class:`autometa.dask_pool.DaskPool`
on a Dask cluster; the search, the refit and the portfolio build use either through
:class:`Executor` (and :func:`run_jobs` for a batch of jobs). Executors are reused
across fits in one interpreter (like joblib's reusable executor), since starting a
worker costs seconds of imports, and closed after :data:`IDLE_TIMEOUT` seconds unused.
"""

from __future__ import annotations

import atexit
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

import cloudpickle

from autometa.sandbox import Job, JobResult, Sandbox

POLL_INTERVAL = 0.02
IDLE_TIMEOUT = 120.0  # seconds an unused executor (and its worker processes) is kept


@runtime_checkable
class Executor(Protocol):
    """Runs :class:`~autometa.sandbox.Job` s on some workers, all on one piece of data.

    ``submit`` never blocks (call it only while ``idle()`` is positive); ``wait`` returns
    the results that finished, waiting up to ``timeout`` seconds for at least one;
    ``cancel`` stops every running job and returns those jobs (they produce no result).
    An executor may also say how many cores a job may use alone (``local_cores``, one
    per worker on this machine; taken as 1 when absent).
    """

    @property
    def capacity(self) -> int:
        """Jobs that can run at once."""

    def start(self) -> None:
        """Get the workers ready (returns at once)."""

    def set_data(self, data: Any) -> None:
        """The data every following job is called with."""

    def idle(self) -> int:
        """Workers free for a job now."""

    def submit(self, job: Job) -> None:
        """Start ``job`` on a free worker."""

    def wait(self, timeout: float) -> list[JobResult]:
        """Finished jobs' results, waiting up to ``timeout`` seconds for one."""

    def cancel(self) -> list[Job]:
        """Stop the running jobs; return them."""

    def release(self) -> None:
        """Drop the data; the workers stay up for reuse."""

    def close(self) -> None:
        """End the workers."""


def run_jobs(executor: Executor, jobs: Iterable[Job], deadline: float = float("inf"),
             clock=time.monotonic, max_running: int | None = None) -> Iterator[JobResult]:
    """Run ``jobs`` on ``executor`` and yield their results as they finish.

    ``jobs`` is consumed lazily, one job each time a worker is free (and fewer than
    ``max_running`` run, when given), so a generator can decide what to submit from the
    time left. At ``deadline`` the jobs still running are cancelled (and yield nothing).
    """
    pending, running = iter(jobs), 0
    limit = max_running or float("inf")
    while True:
        while executor.idle() and running < limit and (job := next(pending, None)) is not None:
            executor.submit(job)
            running += 1
        if not running:
            return
        results = executor.wait(timeout=min(1.0, max(0.0, deadline - clock())))
        running -= len(results)
        yield from results
        if clock() >= deadline:
            executor.cancel()
            return


class LocalPool:
    """``n_workers`` sandbox processes on this machine."""

    def __init__(self, n_workers: int) -> None:
        self.sandboxes = [Sandbox() for _ in range(n_workers)]
        self.token = ""
        self.payload = b""

    @property
    def capacity(self) -> int:
        return len(self.sandboxes)

    @property
    def local_cores(self) -> int:
        """Cores a job may use alone: one per worker."""
        return len(self.sandboxes)

    def start(self) -> None:
        """Start any worker that is not running (returns at once)."""
        for sandbox in self.sandboxes:
            if not sandbox.alive():
                sandbox.start()

    def set_data(self, data) -> None:
        """Data every following job runs on (sent to each worker once)."""
        self.payload = cloudpickle.dumps(data, protocol=5)
        self.token = uuid.uuid4().hex

    def idle(self) -> int:
        return sum(not s.busy for s in self.sandboxes)

    def submit(self, job: Job) -> None:
        sandbox = next(s for s in self.sandboxes if not s.busy)
        sandbox.submit(job, self.token, self.payload)

    def wait(self, timeout: float) -> list[JobResult]:
        """Results of finished jobs, waiting up to ``timeout`` seconds for at least one."""
        end = time.monotonic() + max(0.0, timeout)
        while True:
            done = [r for s in self.sandboxes if (r := s.check()) is not None]
            if done or time.monotonic() >= end or not any(s.busy for s in self.sandboxes):
                return done
            time.sleep(POLL_INTERVAL)

    def cancel(self) -> list[Job]:
        """Stop every running job (its worker is restarted later); return those jobs."""
        jobs = [s.job for s in self.sandboxes if s.busy]
        for sandbox in self.sandboxes:
            if sandbox.busy:
                sandbox.kill()
        return jobs

    def release(self) -> None:
        """Drop the data reference; the workers stay up for the next fit."""
        self.payload = b""

    def close(self) -> None:
        for sandbox in self.sandboxes:
            sandbox.kill()


_idle: dict[int, tuple[Executor, threading.Timer]] = {}  # n_workers -> (executor, closer)
_lock = threading.Lock()


def make_pool(n_workers: int, client=None) -> Executor:
    """The executor for a fit: a sandbox for one worker, Dask for more, or the user's client."""
    if client is not None or n_workers > 1:
        from autometa.dask_pool import DaskPool

        return DaskPool(n_workers, client=client)
    return LocalPool(n_workers)


@contextmanager
def borrowed_pool(n_workers: int, client=None) -> Iterator[Executor]:
    """An executor of ``n_workers`` (or on ``client``), reused between fits in this process.

    One unused executor per size is kept, and closed after :data:`IDLE_TIMEOUT` seconds
    unused; a user's client is used as given and not kept.
    """
    if client is not None:
        pool = make_pool(n_workers, client)
        try:
            yield pool
        finally:
            pool.close()
        return
    with _lock:
        kept = _idle.pop(n_workers, None)
    if kept is not None:
        kept[1].cancel()
    pool = kept[0] if kept is not None else make_pool(n_workers)
    try:
        yield pool
    finally:
        pool.release()
        _keep(n_workers, pool)


def _keep(n_workers: int, pool: Executor) -> None:
    closer = threading.Timer(IDLE_TIMEOUT, _close_idle, args=(n_workers, pool))
    closer.daemon = True
    with _lock:
        extra = _idle.get(n_workers)
        _idle[n_workers] = (pool, closer)
    closer.start()
    if extra is not None:
        extra[1].cancel()
        extra[0].close()


def _close_idle(n_workers: int, pool: Executor) -> None:
    with _lock:
        if _idle.get(n_workers, (None,))[0] is not pool:
            return  # borrowed again (or replaced) meanwhile
        del _idle[n_workers]
    pool.close()


def _close_all() -> None:
    with _lock:
        kept = list(_idle.values())
        _idle.clear()
    for pool, closer in kept:
        closer.cancel()
        pool.close()


atexit.register(_close_all)
