"""Running jobs on sandboxes: the executors used by the search.

An executor offers ``start``, ``capacity``, ``idle``, ``set_data``, ``submit``, ``wait``,
``cancel``, ``release`` and ``close``; :class:`LocalPool` runs sandboxes on this machine,
:class:`autometa.dask_pool.DaskPool` on a Dask cluster.
Worker processes are reused across fits in one interpreter (like joblib's reusable
executor), since starting one costs seconds of imports.
"""

from __future__ import annotations

import atexit
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import cloudpickle

from autometa.sandbox import Job, JobResult, Sandbox

POLL_INTERVAL = 0.02


class LocalPool:
    """``n_workers`` sandbox processes on this machine."""

    def __init__(self, n_workers: int) -> None:
        self.sandboxes = [Sandbox() for _ in range(n_workers)]
        self.token = ""
        self.payload = b""

    @property
    def capacity(self) -> int:
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


_idle: dict[int, object] = {}
_lock = threading.Lock()


def make_pool(n_workers: int, client=None):
    """The executor for a fit: a sandbox for one worker, Dask for more, or the user's client."""
    if client is not None or n_workers > 1:
        from autometa.dask_pool import DaskPool

        return DaskPool(n_workers, client=client)
    return LocalPool(n_workers)


@contextmanager
def borrowed_pool(n_workers: int, client=None) -> Iterator:
    """An executor of ``n_workers`` (or on ``client``), reused between fits in this process
    (one idle executor per size; a user's client is used as given and not kept)."""
    if client is not None:
        pool = make_pool(n_workers, client)
        try:
            yield pool
        finally:
            pool.close()
        return
    with _lock:
        pool = _idle.pop(n_workers, None) or make_pool(n_workers)
    try:
        yield pool
    finally:
        pool.release()
        with _lock:
            extra = _idle.get(n_workers)
            _idle[n_workers] = pool
        if extra is not None:
            extra.close()


def _close_all() -> None:
    for pool in _idle.values():
        pool.close()


atexit.register(_close_all)
