"""Learning analytics, measured against a real `lticontainer serve`, real Jupyter servers on a real
engine and a loopback Moodle endpoint with the plugin's behaviour (tests/e2e/fake_moodle.py):

1. capture cost, side by side in one run and one hub: a student launched with the analytics
   parameters (captured) and one without (plain bridge) run the same cells in turns; round-trip
   latency per cell (execute_request sent → execute_reply received, through the proxy) p50/p99,
   cells/s, and the throughput of an output-heavy cell;
2. a class of K students running cells at once: records captured and delivered per second, and
   the lag from the client receiving an `execute_reply` to its row stored in "Moodle", p50/p99;
3. the delivery's drain rate: Moodle down while the class runs cells, then up: rows per second
   until the outbox is empty.

Run through benches/analytics.sh (which builds the release binary).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

from client import Browser  # noqa: E402
from fake_moodle import FakeMoodle  # noqa: E402
from hub import CONSUMER_KEY, CONSUMER_SECRET, Hub  # noqa: E402
from kernel_channel import KernelChannel  # noqa: E402
from lti_consumer import MoodleConsumer, Student  # noqa: E402

TOKEN = "0123456789abcdef0123456789abcdef"
TAGS = ["filename: bench.ipynb", "codenum: 1"]
BIG = "import sys\nfor i in range(20000): sys.stdout.write('%099d\\n' % i)"  # ~2 MB of output


def q(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))]


def fake_target(moodle: FakeMoodle | None) -> dict[str, str] | None:
    """The analytics parameters that name the loopback endpoint `moodle` (None: none)."""
    if moodle is None:
        return None
    return {"lms_sessioninfo": "3,76", "lms_serverurl": moodle.url, "lms_serverpath": "", "lms_rpctoken": TOKEN}


def student(hub: Hub, name: str, uid: int, target: dict[str, str] | None) -> tuple[Browser, str]:
    """Launches `name` (with the analytics parameters `target`, if any), waits for the server and
    starts a kernel; returns the client and the kernel id."""
    consumer = MoodleConsumer(CONSUMER_KEY, CONSUMER_SECRET, hub.launch_url)
    if target is not None:
        consumer.custom = {"lms_defurl": "/lab"}
        consumer.send_logs_to(target)
        # Moodle launches an activity with its own LTI id as the resource link; the hub keeps a
        # `lms_sessioninfo` only when it names that same activity.
        consumer.resource_link_id = target["lms_sessioninfo"].split(",")[1].strip()
    b = Browser(hub, Student(name, user_id=str(uid)), consumer)
    b.launch()
    b.wait_ready(timeout=600)
    b.open_lab()
    return b, b.start_kernel()


def cells(ch: KernelChannel, n: int, code: str = "1", replies: dict | None = None) -> list[float]:
    lat = []
    for _ in range(n):
        t0 = time.monotonic()
        msg_id, _ = ch.run_cell(code, "cell-1", TAGS)
        t1 = time.monotonic()
        lat.append(t1 - t0)
        if replies is not None:
            replies[msg_id] = t1
    return lat


def overhead(on: KernelChannel, off: KernelChannel, rounds: int, n: int) -> dict:
    out = {"on": {"lat": [], "big": []}, "off": {"lat": [], "big": []}}
    for r in range(rounds):
        order = [("on", on), ("off", off)] if r % 2 == 0 else [("off", off), ("on", on)]
        for label, ch in order:
            t0 = time.monotonic()
            out[label]["lat"] += cells(ch, n)
            out[label].setdefault("wall", 0.0)
            out[label]["wall"] += time.monotonic() - t0
            t0 = time.monotonic()
            ch.run_cell(BIG, "cell-big", TAGS)
            out[label]["big"].append(time.monotonic() - t0)
    return out


def class_run(chans: list[KernelChannel], seconds: float) -> tuple[dict, int]:
    replies: dict[str, float] = {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    count = [0]

    def work(ch: KernelChannel) -> None:
        mine: dict[str, float] = {}
        while time.monotonic() < stop:
            cells(ch, 1, "1", mine)
        with lock:
            replies.update(mine)
            count[0] += len(mine)

    threads = [threading.Thread(target=work, args=(ch,)) for ch in chans]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return replies, count[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", default="docker")
    ap.add_argument("--class-size", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--cells", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--command", default="benches/analytics.sh")
    a = ap.parse_args()
    moodle = FakeMoodle(TOKEN)
    hub = Hub(engine=a.engine, workdir=Path(tempfile.mkdtemp(prefix="analytics-bench-")), patient=True)
    hub.start()
    try:
        on_b, on_k = student(hub, "bench-on", 3001, fake_target(moodle))
        off_b, off_k = student(hub, "bench-off", 3002, None)
        on = KernelChannel(on_b, on_k, v1=True)
        off = KernelChannel(off_b, off_k, v1=True)
        cells(on, 20)
        cells(off, 20)  # warm up
        ov = overhead(on, off, a.rounds, a.cells)
        on.close()
        off.close()

        chans = []
        for i in range(a.class_size):
            b, k = student(hub, f"bench-s{i}", 3100 + i, fake_target(moodle))
            chans.append(KernelChannel(b, k, v1=i % 2 == 0))
        t0 = time.monotonic()
        replies, n = class_run(chans, a.seconds)
        run_s = time.monotonic() - t0
        deadline = time.monotonic() + 300
        while True:
            stored = [r for r in moodle.dump()["server"] if r["message"] in replies]
            if len(stored) >= n or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        lags = [r["_at"] - replies[r["message"]] for r in stored]

        moodle.down = True
        rows1 = moodle.rows()
        _, n2 = class_run(chans, a.seconds / 2)
        time.sleep(2)
        pending = 2 * n2
        moodle.down = False
        t0 = time.monotonic()
        moodle.wait_rows(rows1 + pending, timeout=600)
        drain_s = time.monotonic() - t0
        for ch in chans:
            ch.close()
        nc = sum(1 for r in moodle.dump()["server"] if r["status"].endswith("/nc"))
    finally:
        hub.cleanup()
        moodle.close()

    def row(label: str) -> str:
        d = ov[label]
        lat = d["lat"]
        return (f"| capture {label} | {len(lat)} | {statistics.median(lat) * 1e3:.2f} | {q(lat, 0.99) * 1e3:.2f} | "
                f"{len(lat) / d['wall']:.0f} | {2.0 / statistics.median(d['big']):.1f} |")

    print(f"## Learning analytics ({a.engine}, {a.class_size} students; `{a.command}`)\n")
    print("Capture cost, one hub, side by side (v1 protocol; alternating rounds):\n")
    print("| | cells | p50 ms | p99 ms | cells/s | big-output cell MB/s |")
    print("|---|---|---|---|---|---|")
    print(row("on"))
    print(row("off"))
    p50_on, p50_off = statistics.median(ov["on"]["lat"]), statistics.median(ov["off"]["lat"])
    print(f"\nCapture costs {100 * (p50_on - p50_off) / p50_off:+.1f} % at p50, "
          f"{100 * (q(ov['on']['lat'], .99) - q(ov['off']['lat'], .99)) / q(ov['off']['lat'], .99):+.1f} % at p99.\n")
    print(f"A class of {a.class_size} running cells for {run_s:.0f} s: {n} cells, {2 * n / run_s:.0f} records/s captured "
          f"and delivered; lag execute_reply → row stored: p50 {statistics.median(lags) * 1e3:.0f} ms, "
          f"p99 {q(lags, 0.99) * 1e3:.0f} ms.\n")
    print(f"Drain after Moodle was down: {pending} records in {drain_s:.1f} s = {pending / drain_s:.0f} records/s; "
          f"rows marked /nc: {nc}.")


if __name__ == "__main__":
    main()
