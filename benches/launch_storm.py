"""A launch storm (issue 15): a class whose servers already run clicks the activity again, N signed
launches within one second, against a real `lticontainer serve` on a real engine.

The class is launched to JupyterLab first (real servers). Then every launch is signed ahead (fresh
nonce, the student's own consumer fields) and the Rust tool `launch-storm` POSTs them open loop,
each on its own connection, spread evenly over `--spread-ms`. Reported: how many were answered
and how (status codes; where the redirects point: an accepted launch answers 302 to
`/hub/spawn-pending/<name>`, as JupyterHub's, which sends a student whose server runs straight on
to it), the latency quantiles, how late the load tool itself sent, the
hub's warnings and errors logged during the storm (store contention would show there) and the
hub's CPU time and memory. Run through benches/launch-storm.sh (which builds what it needs).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from hub import CONSUMER_KEY, CONSUMER_SECRET, Hub  # noqa: E402
from hub_launch import class_launch, engine_version, source_commit, vm_kib  # noqa: E402
from lti_consumer import MoodleConsumer, Student  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def warnings_and_errors(log: str) -> list[str]:
    """The log lines at WARN or ERROR level (text or JSON format)."""
    return [line for line in log.splitlines() if " WARN " in line or " ERROR " in line or '"level":"WARN' in line
            or '"level":"ERROR' in line]


def storm(engine: str, students: int, launches: int, spread_ms: int, tool: Path) -> list[str]:
    """Runs one storm on one engine; returns the Markdown lines."""
    with tempfile.TemporaryDirectory(prefix="launch-storm-") as tmp:
        hub = Hub(
            engine=engine,
            workdir=Path(tmp) / "hub",
            patient=False,
            port_range=(20000, 20000 + max(63, students + 3)),
            network_pool="10.212.0.0/20",
        )
        consumer = MoodleConsumer(CONSUMER_KEY, CONSUMER_SECRET, hub.launch_url)
        hub.start()
        try:
            times, errors, wall = class_launch(hub, consumer, students, "storm")
            for e in errors:
                print(f"  {engine}: class launch FAILED {e}", file=sys.stderr)
            print(f"  {engine}: {len(times)}/{students} servers ready in {wall:.1f} s", file=sys.stderr)
            if errors:
                raise SystemExit(f"{engine}: the class did not reach JupyterLab; no storm measured")
            pupils = [Student(f"storm{i:02d}", user_id=str(5000 + i)) for i in range(students)]
            bodies = Path(tmp) / "bodies"
            with bodies.open("w") as f:
                for i in range(launches):
                    f.write(urllib.parse.urlencode(consumer.sign(pupils[i % students])) + "\n")
            log_before = len(hub.log_path.read_text())
            cpu_before = cpu_seconds(hub.proc.pid)
            out = subprocess.run(
                [str(tool), "--url", hub.launch_url, "--bodies", str(bodies), "--spread-ms", str(spread_ms),
                 "--threads", "1"],
                capture_output=True, text=True, timeout=300,
            )
            if out.returncode != 0:
                raise SystemExit(f"launch-storm failed: {out.stderr}")
            cpu = cpu_seconds(hub.proc.pid) - cpu_before
            result = json.loads(out.stdout)
            # The hub answers before it logs some lines; give it a moment to write them.
            time.sleep(1)
            logged = warnings_and_errors(hub.log_path.read_text()[log_before:])
            for line in logged[:10]:
                print(f"  {engine}: hub logged: {line[:300]}", file=sys.stderr)
            rss = vm_kib(hub.proc.pid, "VmRSS")
            running = len(hub.containers(running_only=True))
        finally:
            hub.cleanup()
    statuses = ", ".join(f"{k}: {v}" for k, v in result["statuses"].items()) or "none"
    locations = ", ".join(f"`{k}`: {v}" for k, v in result["locations"].items()) or "none"
    ms = lambda us: f"{us / 1000:.1f} ms"  # noqa: E731
    return [
        f"| {engine} | {launches} launches of {students} running students over {spread_ms} ms "
        f"| {result['answered']}/{launches} | {statuses} | {locations} | {ms(result['p50_us'])} "
        f"| {ms(result['p99_us'])} | {ms(result['max_us'])} | {len(logged)} | {cpu:.2f} s "
        f"| {rss / 1024:.1f} MiB, {running} servers | {ms(result['max_late_us'])} "
        f"| {result['failed_connections']} {result['first_error'] or ''} |"
    ]


def main() -> None:
    """Runs the storm on each engine and prints a Markdown section for BENCHMARKS.md."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--engines", default="docker")
    ap.add_argument("--students", type=int, default=20, help="students with running servers")
    ap.add_argument("--launches", type=int, default=300, help="signed launches in the storm")
    ap.add_argument("--spread-ms", type=int, default=1000, help="the storm's length")
    ap.add_argument("--tool", required=True, help="the launch-storm binary")
    ap.add_argument("--command", default=" ".join(sys.argv), help="the command line to print with the figures")
    args = ap.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    header = [
        f"Command: `{args.command}` at commit {source_commit()}  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores; load average at "
        f"start {os.getloadavg()[0]:.1f}; engines: " + ", ".join(f"{e} {engine_version(e)}" for e in engines) + "  ",
        "Each launch is a fresh OAuth 1.0 signature and nonce, POSTed on its own connection (open loop); latency is "
        "connect to the whole answer; *late* is how far the load tool itself fell behind its schedule.",
        "",
        "| engine | storm | answered | statuses | redirects to | p50 | p99 | max | hub WARN/ERROR lines "
        "| hub CPU | hub memory after | late | failed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows: list[str] = []
    for engine in engines:
        print(f"storming {engine} …", file=sys.stderr)
        rows += storm(engine, args.students, args.launches, args.spread_ms, Path(args.tool))
    print("\n".join(header + rows + ["", f"Load average at the end: {os.getloadavg()[0]:.1f}."]))


if __name__ == "__main__":
    main()
