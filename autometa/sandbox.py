"""A persistent worker process that runs jobs under time and memory limits.

The parent keeps one end of a socket pair; the child (a fresh interpreter started
with ``subprocess``, so no ``__main__`` guard is needed and notebooks work) loads
the data once and then runs jobs on request: a job carries a picklable callable,
which the child calls with the data. The sandbox knows nothing of what the jobs do.
A job that exceeds its deadline or memory limit is ended by killing the child, which
is restarted lazily. Children run in their own session, so Ctrl-C in a terminal
reaches only the parent.
"""

from __future__ import annotations

import functools
import os
import resource
import socket
import subprocess
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import cloudpickle
import psutil

_LAUNCH = "from autometa.sandbox import serve; serve({fd})"


@dataclass(frozen=True)
class Job:
    """One unit of work: ``run(data)`` in a worker, under limits.

    ``run`` must be picklable (e.g. an instance of a module-level class); its return
    value comes back as the result's ``value``.
    """

    key: Any
    run: Callable[[Any], Any]
    deadline: float  # time.monotonic() by which it must be done, whatever happens
    time_limit: float = float("inf")  # seconds of running, counted once the worker starts it
    memory_limit: int | None = None  # bytes of resident memory for the whole worker
    n_threads: int = 1  # BLAS/OpenMP threads while it runs


@dataclass(frozen=True)
class JobResult:
    """What came back: ``status`` is ok, error, timeout, memout or crashed."""

    job: Job
    status: str
    value: Any = None
    error: str = ""
    wall_time: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class Sandbox:
    """Parent-side handle on one worker process."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.conn: Connection | None = None
        self.token: str | None = None
        self.job: Job | None = None
        self.started = 0.0
        self.running_since: float | None = None
        self._sender: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self.job is not None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        parent, child = socket.socketpair()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCH.format(fd=child.fileno())],
            pass_fds=(child.fileno(),),
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        child.close()
        self.conn = Connection(parent.detach())
        self.token = None

    def submit(self, job: Job, token: str, payload: bytes) -> None:
        """Send ``job`` (and the data first if this worker lacks it) without blocking."""
        if not self.alive():
            self.start()
        messages = [] if self.token == token else [("data", token, payload)]
        messages.append(("run", job))
        self.token, self.job, self.started = token, job, time.monotonic()
        self.running_since = None
        conn = self.conn
        self._sender = threading.Thread(target=_send_all, args=(conn, messages), daemon=True)
        self._sender.start()

    def check(self) -> JobResult | None:
        """The finished job's result, a limit violation, or ``None`` while it runs."""
        job = self.job
        if job is None:
            return None
        wall = time.monotonic() - self.started
        try:
            while self.conn.poll(0):
                status, value, error = self.conn.recv()
                if status != "started":
                    return self._finish(JobResult(job, status, value, error, wall))
                self.running_since = time.monotonic()
        except (EOFError, OSError):
            return self._fail("crashed", f"worker died (exit code {self.proc.poll()})", wall)
        if not self.alive():
            return self._fail("crashed", f"worker died (exit code {self.proc.poll()})", wall)
        now = time.monotonic()
        if now > job.deadline:
            return self._fail("timeout", f"stopped at the end of the time budget ({wall:.1f} s)",
                              wall)
        if self.running_since is not None and now - self.running_since > job.time_limit:
            return self._fail("timeout", f"exceeded its time limit of {job.time_limit:.1f} s",
                              wall)
        if job.memory_limit and _rss(self.proc.pid) > job.memory_limit:
            limit_mb = job.memory_limit / 2**20
            return self._fail("memout", f"exceeded the memory limit of {limit_mb:.0f} MB", wall)
        return None

    def _fail(self, status: str, message: str, wall: float) -> JobResult:
        job = self.job
        self.kill()
        return self._finish(JobResult(job, status, None, message, wall))

    def _finish(self, result: JobResult) -> JobResult:
        self.job = None
        return result

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.conn is not None:
            self.conn.close()
        self.proc, self.conn, self.token, self.job = None, None, None, None


def _send_all(conn: Connection, messages: list) -> None:
    try:
        for message in messages:
            conn.send(message)
    except (OSError, ValueError, TypeError):
        pass  # the worker died or was stopped (its connection closed under the sender,
        # a TypeError inside multiprocessing); check() reports it


def trim_heap() -> None:
    """Hand the memory freed in this process back to the system.

    glibc keeps the heap a large result was unpickled on: one fit's main process held 2.3
    GB after a random forest's fold models had come and gone, 1.1 GB once trimmed. A
    no-op where the C library has no ``malloc_trim`` (macOS, Windows, musl).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    """The C library's ``malloc_trim`` (``None`` where there is none)."""
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # TypeError: Windows has no CDLL(None)
        return None
    trim.argtypes = [ctypes.c_size_t]
    return trim


def _rss(pid: int) -> int:
    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return 0


# -- child side ----------------------------------------------------------------------------


def serve(fd: int) -> None:
    """Worker main loop: receive data and jobs, send back results."""
    conn = Connection(fd)
    _watch_parent(os.getppid())
    warnings.simplefilter("ignore")
    from autometa import evaluation  # noqa: F401  (warm imports for the usual jobs)

    data = None
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "data":
            data = None
            data = cloudpickle.loads(message[2])
        elif message[0] == "run":
            conn.send(("started", None, ""))
            reply = _run(message[1], data)
            try:
                conn.send(reply)
            except Exception as exc:  # an unpicklable result
                conn.send(("error", None, f"result could not be sent back: {exc!r}"))
            del reply  # the models it carried, before the next job
            trim_heap()


def _run(job: Job, data) -> tuple[str, Any, str]:
    from threadpoolctl import threadpool_limits

    try:
        with _address_space_limit(job.memory_limit), threadpool_limits(job.n_threads):
            return "ok", job.run(data), ""
    except MemoryError:
        return "memout", None, "ran out of memory (MemoryError)"
    except Exception as exc:
        return "error", None, _describe(exc)


def _describe(exc: Exception) -> str:
    lines = traceback.format_exception_only(type(exc), exc)
    return "".join(lines).strip().splitlines()[-1][:500]


class _address_space_limit:
    """Cap virtual memory at the current size plus ``limit`` bytes for one job."""

    def __init__(self, limit: int | None):
        self.limit = limit
        self.saved = resource.getrlimit(resource.RLIMIT_AS)

    def __enter__(self):
        if self.limit:
            current = psutil.Process().memory_info().vms
            resource.setrlimit(resource.RLIMIT_AS, (current + self.limit, self.saved[1]))
        return self

    def __exit__(self, *exc) -> None:
        if self.limit:
            resource.setrlimit(resource.RLIMIT_AS, self.saved)


def _watch_parent(parent: int) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
