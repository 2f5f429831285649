"""An in-process executor on a fake clock, for testing what drives executors in milliseconds."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from autometa.evaluation import Outcome
from autometa.sandbox import Job, JobResult


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


Respond = Callable[[Job], tuple[str, object, float]]  # job -> (status, value, seconds)


class FakeExecutor:
    """Runs a job by asking ``respond`` what it returns and how many seconds it takes.

    Time passes only in :meth:`wait`, which moves the clock to the next job's end (or
    by ``timeout``). Time limits and deadlines end a job as a sandbox would.
    """

    def __init__(self, respond: Respond, capacity: int = 1, clock: FakeClock | None = None):
        self.respond = respond
        self.capacity = capacity
        self.clock = clock or FakeClock()
        self.running: dict = {}  # key -> (job, start, end, JobResult)
        self.submitted: list[Job] = []
        self.data = None

    def start(self) -> None:
        pass

    def set_data(self, data) -> None:
        self.data = data

    def idle(self) -> int:
        return self.capacity - len(self.running)

    def submit(self, job: Job) -> None:
        assert self.idle() > 0, "submitted to a busy executor"
        self.submitted.append(job)
        status, value, seconds = self.respond(job)
        start = self.clock.now
        error = "" if status == "ok" else f"{status} in the fake"
        if seconds > job.time_limit:
            seconds, status, value, error = job.time_limit, "timeout", None, "time limit"
        if start + seconds > job.deadline:
            seconds, status, value, error = job.deadline - start, "timeout", None, "deadline"
        self.running[job.key] = (job, start, start + seconds,
                                 JobResult(job, status, value, error, seconds))

    def wait(self, timeout: float) -> list[JobResult]:
        if not self.running:
            return []
        first = min(end for _, _, end, _ in self.running.values())
        self.clock.now = min(first, self.clock.now + timeout) if first > self.clock.now \
            else self.clock.now
        done = [k for k, (_, _, end, _) in self.running.items() if end <= self.clock.now]
        return [self.running.pop(k)[3] for k in done]

    def cancel(self) -> list[Job]:
        jobs = [job for job, _, _, _ in self.running.values()]
        self.running.clear()
        return jobs

    def release(self) -> None:
        self.data = None

    def close(self) -> None:
        self.running.clear()


def outcome(loss: float, n_val: int = 10, models=None) -> Outcome:
    """A successful evaluation's outcome with constant predictions."""
    return Outcome(loss, np.zeros(n_val, dtype=np.float32), 0.1, 0.01, models)
