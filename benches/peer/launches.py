"""Workloads 1 and 2: students launching, through the e2e suite's scripted browser, against any
JupyterHub-compatible hub (lticontainer or the peer), and N servers started at the same moment.

Launch-to-ready = the signed LTI POST → the hub's redirects (spawn page / spawn-pending page) → the
progress stream says ready → GET /user/<name>/lab answers 200 after the single-user server's OAuth
round trip with the hub. The same client, with the same (long) timeouts, drives both hubs.
"""

from __future__ import annotations

import math
import re
import statistics
import threading
import time
import urllib.parse
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


def _hop(r: requests.Response, user: str) -> str:
    """One request of a redirect chain, named by its path (the user's name as `<name>`) and status."""
    path = re.sub(re.escape(user), "<name>", urllib.parse.urlsplit(r.url).path)
    return f"{r.request.method} {path} → {r.status_code}"


def timed_launch(b: Browser) -> tuple[float, dict[str, float]]:
    """Launch to ready (seconds), and where it went: the launch POST, the redirects to the progress
    page, the wait for the progress stream's `ready`, then each request of the way to JupyterLab
    (the single-user OAuth round trip: the server's redirect to the hub's authorize, the hub's
    redirect with the code, the server's callback — which exchanges the code and reads the user
    from the hub before it answers — and JupyterLab's page), each as the time to its answer's
    headers; what the client itself spends between them is the last phase."""
    phases: dict[str, float] = {}
    t0 = time.monotonic()
    r = b.post_launch()
    phases["launch POST → redirect"] = time.monotonic() - t0
    if r.status_code not in (302, 303):
        raise RuntimeError(f"launch answered {r.status_code}, not a redirect: {r.text[:300]}")
    t = time.monotonic()
    page = b.session.get(urllib.parse.urljoin(r.url, r.headers["Location"]), timeout=PATIENT_TIMEOUT)
    if page.status_code != 200:
        raise RuntimeError(f"the page after the launch answered {page.status_code}: {page.text[:300]}")
    phases["→ progress page"] = time.monotonic() - t
    t = time.monotonic()
    b.wait_ready(timeout=PATIENT_TIMEOUT)
    phases["progress stream → ready"] = time.monotonic() - t
    t = time.monotonic()
    lab = b.open_lab()
    lab_s = time.monotonic() - t
    for hop in [*lab.history, lab]:
        name = _hop(hop, b.name)
        phases[name] = phases.get(name, 0.0) + hop.elapsed.total_seconds()
    phases["client between the requests above"] = lab_s - sum(h.elapsed.total_seconds() for h in [*lab.history, lab])
    return time.monotonic() - t0, phases


@dataclass
class SingleResult:
    """One student's launch and first kernel execution."""

    ready_s: float
    kernel_s: float
    result: str
    # Where the launch's time went, in order (see `timed_launch`; the floor's own split).
    phases: dict[str, float] = field(default_factory=dict)


def one_student(b: Browser) -> SingleResult:
    """Workload 1: launch to ready, then a kernel started through the proxy executes `1+1`."""
    ready, phases = timed_launch(b)
    t0 = time.monotonic()
    result = b.execute("1+1", timeout=120)
    kernel = time.monotonic() - t0
    if result != "2":
        raise AssertionError(f"1+1 gave {result!r}")
    return SingleResult(ready, kernel, result, phases)


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
