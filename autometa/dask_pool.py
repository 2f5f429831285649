"""Running trials on Dask: a local cluster for ``n_jobs > 1``, or a user's own cluster.

:class:`DaskPool` offers the executor interface of :class:`autometa.pool.LocalPool`.
Each Dask task runs its trial in a sandbox process owned by the worker thread that
picked it up (one per thread, reused across trials), so a trial that hangs, crashes or
eats memory is ended by its limits wherever it runs, and a Dask worker lost mid-trial is
recorded as a crashed trial. The local cluster uses worker *threads* (the heavy lifting
happens in the sandboxes), so it starts in a notebook or a script without an
``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import replace

import cloudpickle

from autometa.sandbox import Job, JobResult, Sandbox

POLL_INTERVAL = 0.02
_SANDBOXES = "_autometa_sandboxes"  # attribute of a Dask worker: thread id -> Sandbox


def _sandboxes(worker) -> dict[int, Sandbox]:
    if not hasattr(worker, _SANDBOXES):
        setattr(worker, _SANDBOXES, {})
    return getattr(worker, _SANDBOXES)


def run_in_sandbox(job: Job, token: str, payload: bytes, remaining: float) -> JobResult:
    """Run ``job`` in this worker thread's sandbox; ``remaining`` seconds until its deadline.

    The deadline travels as a duration because monotonic clocks differ between machines.
    """
    from distributed import get_worker

    sandbox = _sandboxes(get_worker()).setdefault(threading.get_ident(), Sandbox())
    job = replace(job, deadline=time.monotonic() + remaining)
    sandbox.submit(job, token, payload)
    while (result := sandbox.check()) is None:
        time.sleep(POLL_INTERVAL)
    return result


def stop_sandboxes(dask_worker) -> int:
    """End the sandbox processes of a Dask worker (run with ``client.run``)."""
    boxes = _sandboxes(dask_worker)
    count = len(boxes)
    for sandbox in boxes.values():
        sandbox.kill()
    boxes.clear()
    return count


def check_open(client) -> None:
    """Refuse a Dask client that has been closed: its trials would fail deep inside Dask.

    Parameters
    ----------
    client : distributed.Client or None
        The client a fit was given (``None``: a local cluster is started instead).

    Raises
    ------
    ValueError
        When ``client`` is closed or closing.
    """
    status = getattr(client, "status", None)
    if client is not None and status in ("closing", "closed"):
        raise ValueError(
            f"The dask_client is closed (status {status!r}); pass an open distributed.Client, "
            "or none for a local cluster."
        )


class DaskPool:
    """Trials as Dask tasks, on a local cluster of ``n_workers`` threads or on ``client``.

    Parameters
    ----------
    n_workers : int
        Worker threads of the local cluster (ignored when ``client`` is given).
    client : distributed.Client, optional
        An existing client; its cluster runs the trials and is left running on close.
    """

    def __init__(self, n_workers: int = 2, client=None) -> None:
        check_open(client)
        self.n_workers = n_workers
        self.client = client
        self._owned = client is None
        self._cluster = None
        self._running: dict = {}  # future -> job
        self._data = None
        self.token = ""

    def start(self) -> None:
        """Start the local cluster (once)."""
        if self.client is not None:
            check_open(self.client)
            return
        from distributed import Client, LocalCluster

        self._cluster = LocalCluster(n_workers=self.n_workers, threads_per_worker=1,
                                     processes=False, dashboard_address=None,
                                     silence_logs=logging.ERROR)
        self.client = Client(self._cluster, set_as_default=False)

    @property
    def capacity(self) -> int:
        """Worker threads of the cluster (before :meth:`start`: the local cluster's size)."""
        if self.client is None:
            return self.n_workers
        workers = self.client.scheduler_info(n_workers=-1)["workers"].values()
        return max(1, sum(w.get("nthreads", 1) for w in workers))

    @property
    def local_cores(self) -> int:
        """Cores a job may use alone: the local cluster's (one per worker thread); one
        on a user's cluster, whose workers' cores are not known."""
        return self.n_workers if self._owned else 1

    def set_data(self, data) -> None:
        """Data every following job runs on (scattered to the workers once)."""
        self.token = uuid.uuid4().hex
        self._data = self.client.scatter(cloudpickle.dumps(data, protocol=5), broadcast=True,
                                         hash=False)

    def idle(self) -> int:
        return max(0, self.capacity - len(self._running))

    def submit(self, job: Job) -> None:
        remaining = max(0.0, job.deadline - time.monotonic())
        future = self.client.submit(run_in_sandbox, job, self.token, self._data, remaining,
                                    pure=False, key=f"autometa-{self.token}-{job.key}")
        self._running[future] = job

    def wait(self, timeout: float) -> list[JobResult]:
        """Results of finished jobs, waiting up to ``timeout`` seconds for at least one."""
        end = time.monotonic() + max(0.0, timeout)
        while True:
            done = [f for f in self._running if f.done()]
            if done or time.monotonic() >= end or not self._running:
                return [self._result(f) for f in done]
            time.sleep(POLL_INTERVAL)

    def _result(self, future) -> JobResult:
        job = self._running.pop(future)
        try:
            return future.result()
        except Exception as exc:  # the worker died or the task was lost
            return JobResult(job, "crashed", error=f"Dask worker lost the trial: {exc!r}"[:300])

    def cancel(self) -> list[Job]:
        """Stop waiting for the running jobs (their sandboxes stop at the jobs' deadlines)."""
        jobs = list(self._running.values())
        self.client.cancel(list(self._running))
        self._running.clear()
        return jobs

    def release(self) -> None:
        """Drop the scattered data."""
        self._data = None

    def close(self) -> None:
        """End the sandboxes; close the local cluster (a user's client stays connected)."""
        if self.client is None:
            return
        if self._running:
            self.cancel()
        try:
            self.client.run(stop_sandboxes)
        except Exception:  # a worker already gone has no sandbox left to stop
            pass
        if self._owned:
            self.client.close()
            self._cluster.close()
            self.client = self._cluster = None
