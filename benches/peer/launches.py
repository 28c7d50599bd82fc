"""Workloads 1 and 2: students launching, through the e2e suite's scripted browser, against any
JupyterHub-compatible hub (lticontainer or the peer), and N servers started at the same moment.

Launch-to-ready = the signed LTI POST → the hub's redirects (spawn page / spawn-pending page) → the
progress stream says ready → GET /user/<name>/lab answers 200 after the single-user server's OAuth
round trip with the hub. The same client, with the same (long) timeouts, drives both hubs.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from client import Browser
from lti_consumer import MoodleConsumer, Student

# A browser waits minutes for a page; the e2e client's 30-60 s request timeouts would fail a slow
# hub under a class's load for a reason no student would see, so every request gets this instead.
PATIENT_TIMEOUT = 600.0


class PatientSession(requests.Session):
    """A requests session whose requests wait as long as a browser would."""

    def request(self, method, url, **kwargs):  # noqa: ANN001, ANN201 (requests' own signature)
        timeout = kwargs.get("timeout")
        if timeout is not None:
            kwargs["timeout"] = (PATIENT_TIMEOUT, PATIENT_TIMEOUT)
        return super().request(method, url, **kwargs)


def browser(hub, consumer: MoodleConsumer, name: str, user_id: int) -> Browser:  # noqa: ANN001 (any hub)
    """A fresh student with a patient cookie jar."""
    return Browser(hub, Student(name, user_id=str(user_id)), consumer, session=PatientSession())


def launch_to_ready(b: Browser) -> float:
    """Seconds from the launch POST to JupyterLab answering 200 through the proxy."""
    t0 = time.monotonic()
    b.launch()
    b.wait_ready(timeout=PATIENT_TIMEOUT)
    b.open_lab()
    return time.monotonic() - t0


@dataclass
class SingleResult:
    """One student's launch and first kernel execution."""

    ready_s: float
    kernel_s: float
    result: str


def one_student(b: Browser) -> SingleResult:
    """Workload 1: launch to ready, then a kernel started through the proxy executes `1+1`."""
    ready = launch_to_ready(b)
    t0 = time.monotonic()
    result = b.execute("1+1", timeout=120)
    kernel = time.monotonic() - t0
    if result != "2":
        raise AssertionError(f"1+1 gave {result!r}")
    return SingleResult(ready, kernel, result)


@dataclass
class ClassResult:
    """N starts at the same moment."""

    n: int
    times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def ok(self) -> int:
        """How many succeeded."""
        return len(self.times)

    def median(self) -> float | None:
        """Median seconds to ready of the successes."""
        return statistics.median(self.times) if self.times else None

    def p95(self) -> float | None:
        """95th percentile (nearest rank) of the successes."""
        return percentile(self.times, 0.95) if self.times else None

    def max(self) -> float | None:
        """The slowest success."""
        return max(self.times) if self.times else None


def percentile(values: list[float], q: float) -> float:
    """The q-quantile by nearest rank."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(round(q * len(ordered), 9))))
    return ordered[rank - 1]


def at_once(n: int, start: Callable[[int], float]) -> ClassResult:
    """Runs `start(i)` for i in 0..n on n threads released together; wall = release to last done."""
    result = ClassResult(n)
    barrier = threading.Barrier(n + 1)
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            t = start(i)
            with lock:
                result.times.append(t)
        except Exception as e:  # every failure is counted and reported; the class goes on
            with lock:
                result.errors.append(f"#{i}: {type(e).__name__}: {str(e)[:400]}")

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.monotonic()
    for t in threads:
        t.join()
    result.wall_s = time.monotonic() - t0
    return result
