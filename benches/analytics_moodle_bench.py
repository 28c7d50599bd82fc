"""The lag from a cell's execute_reply to its row in the real Moodle's mod_lticontainer tables, for
a class: K students launched (scripted, signed like Moodle's launches) with the analytics
parameters of the Moodle tier's activity, each with a real Jupyter server, run cells through the
hub's proxy for S seconds at once (the JSON and the v1 protocols, alternating); a watcher reads
`mdl_lticontainer_server_data` every 100 ms and notes when each reply's row appears.

Run through benches/analytics_moodle.sh. Only Moodle's tables get rows (under sessions of this
run); its configuration is read, never changed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

from analytics_bench import class_run, q, student  # noqa: E402
from hub import Hub  # noqa: E402
from kernel_channel import KernelChannel  # noqa: E402
from moodle import db_rows  # noqa: E402

ANALYTICS = ("lms_sessioninfo", "lms_serverurl", "lms_serverpath", "lms_rpctoken")


def column(sql: str) -> list[str]:
    """The first column of `sql`'s rows in Moodle's database (`moodle.db_rows`)."""
    return [row[0] for row in db_rows(sql)]


def moodle_target() -> dict[str, str]:
    """The analytics parameters the first LTI activity's launches carry (its LTI Edit settings)."""
    text = "\n".join(column("SELECT instructorcustomparameters FROM mdl_lti ORDER BY id LIMIT 1"))
    params = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    missing = [k for k in ANALYTICS if k not in params]
    if missing:
        sys.exit(f"the Moodle tier's activity has no {missing}: run the e2e Moodle tier once (scripts/setup-moodle.sh)")
    return {k: params[k] for k in ANALYTICS}


class RowWatcher(threading.Thread):
    """Notes the first time each server row (by message id) of `sessions` is seen in Moodle."""

    def __init__(self, sessions: list[str]):
        super().__init__(daemon=True)
        self.where = ",".join(f"'{s}'" for s in sessions)
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            rows = column(f"SELECT message FROM mdl_lticontainer_server_data WHERE session IN ({self.where})")
            now = time.monotonic()
            for m in rows:
                self.seen.setdefault(m, now)
            self.stop.wait(0.1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", default="docker")
    ap.add_argument("--class-size", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--command", default="benches/analytics_moodle.sh")
    a = ap.parse_args()
    target = moodle_target()
    hub = Hub(engine=a.engine, workdir=Path(tempfile.mkdtemp(prefix="analytics-moodle-bench-")), patient=True)
    # A server port for each student: a class over 20 goes on into the next block's ports (its
    # network pool, a /22, has a /28 for each of 64 ports).
    first = hub.server_ports[0]
    hub.port_range = (first, first + max(24, a.class_size + 4))
    hub.start()
    try:
        t0 = time.monotonic()
        launched = [student(hub, f"bench-m{i}", 3300 + i, target) for i in range(a.class_size)]
        launch_s = time.monotonic() - t0
        # The kernel channels open once the whole class is in: the client answers the server's
        # pings only while it reads, so a channel left unread during the launches is closed.
        chans = [KernelChannel(b, k, v1=i % 2 == 0) for i, (b, k) in enumerate(launched)]
        watcher = RowWatcher([ch.session_id for ch in chans])
        watcher.start()
        t0 = time.monotonic()
        replies, n = class_run(chans, a.seconds)  # msg_id → time.monotonic() of its reply
        run_s = time.monotonic() - t0
        deadline = time.monotonic() + 600
        while len([m for m in replies if m in watcher.seen]) < n and time.monotonic() < deadline:
            time.sleep(0.2)
        drained_s = time.monotonic() - t0
        watcher.stop.set()
        watcher.join()
        for ch in chans:
            ch.close()
        nc = int(column(f"SELECT count(*) FROM mdl_lticontainer_server_data WHERE session IN ({watcher.where}) "
                      "AND status LIKE '%/nc'")[0])
        stored = int(column(f"SELECT count(*) FROM mdl_lticontainer_server_data WHERE session IN ({watcher.where})")[0])
    finally:
        hub.cleanup()
    lags = [watcher.seen[m] - t for m, t in replies.items() if m in watcher.seen]
    print(f"## Learning analytics against the real Moodle ({a.engine}, a class of {a.class_size}; `{a.command}`)\n")
    print(f"Launched {a.class_size} students in {launch_s:.0f} s; they ran {n} cells in {run_s:.0f} s "
          f"({2 * n / run_s:.0f} records/s captured: each cell a client and a server record).\n")
    print(f"Rows in Moodle: {stored} server rows of {n} replies (/nc: {nc}); all stored {drained_s:.0f} s after the "
          f"class started ({(2 * n + a.class_size) / drained_s:.0f} records/s delivered, bindings included).\n")
    print(f"Lag execute_reply → server row in mdl_lticontainer_server_data (100 ms polling): "
          f"p50 {statistics.median(lags) * 1e3:.0f} ms, p99 {q(lags, 0.99) * 1e3:.0f} ms, max {max(lags) * 1e3:.0f} ms.")


if __name__ == "__main__":
    main()
