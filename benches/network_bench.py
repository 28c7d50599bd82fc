"""The cost of isolation: launch-to-ready and proxy figures with isolated networking (the default:
each server on a network of its own, reached at its container's address) and with host networking
(servers on the host's 127.0.0.1), side by side, on the same engine, image and machine.

Per engine, two hubs run at once (one per networking mode) and take turns: each single-student
launch is a new student, host and isolated alternating (the order swapping every round) so load from
other work on the machine hits both alike. Then on each hub one user's "server" is the bench
upstream (`bench-upstream`: a small HTTP answer and a WebSocket echo), and HTTP GET and WebSocket
echo load runs through the hub's proxy to it, each bounded in time. Load goes to 127.0.0.1 only
(the hub); the hub then reaches the server over loopback (host) or over the server's bridge
(isolated). Prints a Markdown section for BENCHMARKS.md. Run it through benches/network.sh.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "e2e"))
sys.path.insert(0, str(HERE))

from client import Browser  # noqa: E402
from hub import CONSUMER_KEY, CONSUMER_SECRET, IMAGE, Hub  # noqa: E402
from hub_launch import engine_version, launch_to_ready  # noqa: E402
from lti_consumer import MoodleConsumer, Student  # noqa: E402

MODES = ("host", "isolated")
PROXY_USER = "proxybench"


def log(msg: str) -> None:
    """Progress on stderr (stdout is the report)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass
class BenchHub(Hub):
    """An e2e `Hub` that also allows the upstream image (for the proxy user's server)."""

    extra_allowed_image: str = ""

    def config_path(self) -> Path:
        """The e2e config, with `allowed_images` added to its [spec] table."""
        path = self.workdir / "lticontainer.toml"
        existed = path.exists()
        path = super().config_path()
        if not existed and self.extra_allowed_image:
            text = path.read_text()
            text = text.replace("\n[spec]\n", f'\n[spec]\nallowed_images = ["{self.extra_allowed_image}"]\n', 1)
            path.write_text(text)
        return path


@dataclass
class Load:
    """One bounded load run (latencies in milliseconds)."""

    command: str
    per_second: float
    p50: float
    p90: float
    p99: float
    count: int
    errors: int


def load(tool: str, url: str, connections: int, seconds: int, cookie: str) -> Load:
    """`http-get-load` or `ws-echo-load` (same options, same JSON line) against `url`."""
    args = [tool, "--url", url, "--connections", str(connections), "--seconds", str(seconds), "--threads", "1"]
    shown = shlex.join([*args, "--header", "Cookie: <session cookie>"])
    out = subprocess.run([*args, "--header", f"Cookie: {cookie}"], capture_output=True, text=True,
                         timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(f"{shown} failed: {out.stderr.strip() or out.stdout.strip()}")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    count = r.get("requests", r.get("round_trips", 0))
    return Load(shown, r["per_second"], r["p50_us"] / 1000, r["p90_us"] / 1000, r["p99_us"] / 1000, count,
                r.get("non_2xx", 0) + r["failed_connections"])


def start_upstream_user(hub: Hub, consumer: MoodleConsumer, upstream_image: str, uid: int) -> str:
    """Launches the proxy user with the upstream image as their server; returns their cookie header."""
    custom = MoodleConsumer(CONSUMER_KEY, CONSUMER_SECRET, hub.launch_url, custom={"lms_image": upstream_image})
    b = Browser(hub, Student(PROXY_USER, user_id=str(uid)), custom)
    b.launch()
    b.wait_ready(timeout=300)
    url = f"{hub.url}/user/{PROXY_USER}/ping"
    cookie = b.cookie_header(url)
    r = requests.get(url, headers={"Cookie": cookie}, timeout=30, allow_redirects=False)
    if r.status_code != 200 or "lticontainer-bench" not in r.text:
        raise RuntimeError(f"GET {url} through the hub answered {r.status_code}, not the upstream: {r.text[:300]}")
    return cookie


def run_engine(engine: str, launches: int, conns: list[int], seconds: int, tools: dict[str, str],
               upstream_image: str) -> tuple[list[str], list[str], list[str]]:
    """Measures one engine; returns (launch rows, proxy rows, errors)."""
    launch_rows: list[str] = []
    proxy_rows: list[str] = []
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="network-bench-") as tmp:
        hubs = {
            m: BenchHub(engine=engine, workdir=Path(tmp) / m, patient=False, network=m,
                        extra_allowed_image=upstream_image)
            for m in MODES
        }
        try:
            for h in hubs.values():
                h.start()
            consumers = {m: MoodleConsumer(CONSUMER_KEY, CONSUMER_SECRET, h.launch_url) for m, h in hubs.items()}
            times: dict[str, list[float]] = {m: [] for m in MODES}
            for i in range(launches):
                order = MODES if i % 2 == 0 else tuple(reversed(MODES))
                for m in order:
                    b = Browser(hubs[m], Student(f"net{i}", user_id=str(6000 + i)), consumers[m])
                    try:
                        times[m].append(launch_to_ready(b))
                        log(f"{engine} {m}: launch {i + 1}: {times[m][-1]:.2f} s")
                    except Exception as e:  # counted and reported; the run goes on
                        errors.append(f"{engine} {m} launch {i + 1}: {type(e).__name__}: {str(e)[:300]}")
                        log(errors[-1])
            for m in MODES:
                t = times[m]
                if t:
                    launch_rows.append(
                        f"| {engine} | {m} | {len(t)}/{launches} | {statistics.median(t):.2f} s | {min(t):.2f} s "
                        f"| {max(t):.2f} s | {', '.join(f'{x:.2f}' for x in t)} s |"
                    )
                else:
                    launch_rows.append(f"| {engine} | {m} | 0/{launches} | – | – | – | |")

            cookies = {m: start_upstream_user(hubs[m], consumers[m], upstream_image, 6900) for m in MODES}
            for proto, tool, scheme, path in (
                ("HTTP GET", tools["http"], "http", "ping"),
                ("WebSocket echo", tools["ws"], "ws", "echo"),
            ):
                for c in conns:
                    for m in MODES:
                        url = f"{scheme}://127.0.0.1:{hubs[m].port}/user/{PROXY_USER}/{path}"
                        try:
                            r = load(tool, url, c, seconds, cookies[m])
                        except Exception as e:
                            errors.append(f"{engine} {m} {proto} {c} conn: {type(e).__name__}: {str(e)[:300]}")
                            log(errors[-1])
                            continue
                        log(f"{engine} {m} {proto} {c} conn: {r.per_second:.0f}/s, p50 {r.p50:.2f} ms, "
                            f"p99 {r.p99:.2f} ms, errors {r.errors}")
                        proxy_rows.append(
                            f"| {engine} | {proto} | {c} | {m} | {r.per_second:,.0f} | {r.p50:.2f} ms | {r.p90:.2f} ms "
                            f"| {r.p99:.2f} ms | {r.errors} | `{r.command}` |"
                        )
        finally:
            for h in hubs.values():
                h.cleanup()
    return launch_rows, proxy_rows, errors


def main() -> None:
    """Runs the benchmark and prints a Markdown section for BENCHMARKS.md."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--engines", default="docker,podman")
    ap.add_argument("--launches", type=int, default=5, help="single-student launches per networking mode")
    ap.add_argument("--connections", default="1,10", help="proxy load connection counts")
    ap.add_argument("--seconds", type=int, default=5, help="duration of each proxy load run")
    ap.add_argument("--http-tool", required=True, help="the http-get-load executable")
    ap.add_argument("--ws-tool", required=True, help="the ws-echo-load executable")
    ap.add_argument("--upstream-image", default="lticontainer-bench/upstream:latest")
    ap.add_argument("--command", default=" ".join(sys.argv), help="the command line to print with the figures")
    args = ap.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    conns = [int(x) for x in args.connections.split(",") if x]
    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?"
    )
    mem = int(next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal"))) // 1024
    load_start = os.getloadavg()[0]
    launch_rows: list[str] = []
    proxy_rows: list[str] = []
    errors: list[str] = []
    for engine in engines:
        log(f"measuring {engine} …")
        lr, pr, er = run_engine(engine, args.launches, conns, args.seconds,
                                {"http": args.http_tool, "ws": args.ws_tool}, args.upstream_image)
        launch_rows += lr
        proxy_rows += pr
        errors += er
    out = [
        f"Command: `{args.command}`  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: {os.cpu_count()} cores ({cpu}), "
        f"{mem} MiB RAM, {platform.system()} {platform.release()}; load average {load_start:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end  ",
        f"Image: `{IMAGE}`; upstream: `{args.upstream_image}`; engines: "
        + ", ".join(f"{e} {engine_version(e)}" for e in engines),
        "",
        "Launch to ready (signed LTI POST → progress `ready` → GET /user/<name>/lab 200 after the OAuth round "
        "trip), each launch a new student, host and isolated alternating:",
        "",
        "| engine | networking | succeeded | median | min | max | runs |",
        "|---|---|---|---|---|---|---|",
        *launch_rows,
        "",
        f"Through the hub's proxy to one user's bench upstream, {args.seconds} s per run:",
        "",
        "| engine | load | connections | networking | per second | p50 | p90 | p99 | errors | command |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *proxy_rows,
    ]
    if errors:
        out += ["", "Errors:", "", *(f"- {e}" for e in errors)]
    print("\n".join(out))


if __name__ == "__main__":
    main()
