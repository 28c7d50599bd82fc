"""Launch-to-JupyterLab-ready for 1 and for N simultaneous students, and the hub's resident memory
with N servers running, measured against a real `lticontainer serve` on a real engine.

"Ready" means what a student sees: the signed launch is POSTed, the browser follows the hub to the
spawn-pending page, the progress stream reports ready, and GET /user/<name>/lab answers 200 after
the single-user OAuth round trip. Run through benches/hub-launch.sh (which builds what it needs).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

from client import Browser  # noqa: E402
from hub import CONSUMER_KEY, CONSUMER_SECRET, IMAGE, REPO, Hub, cli_of, free_port, hub_binary, remove_labelled  # noqa: E402
from lti_consumer import MoodleConsumer, Student  # noqa: E402


# The phases of one launch as the browser sees them, in order (see `timed_launch`).
PHASES = ("launch POST → pending page", "pending page → progress says ready", "ready → JupyterLab 200 (OAuth round trip)")


def timed_launch(browser: Browser) -> dict[str, float]:
    """Launch-to-ready split into the phases the browser sees (seconds each, keyed by `PHASES`)."""
    t0 = time.monotonic()
    browser.launch()
    t1 = time.monotonic()
    browser.wait_ready(timeout=600)
    t2 = time.monotonic()
    browser.open_lab()
    t3 = time.monotonic()
    return dict(zip(PHASES, (t1 - t0, t2 - t1, t3 - t2)))


def launch_to_ready(browser: Browser) -> float:
    """Seconds from the launch POST to JupyterLab answering 200 through the proxy."""
    return sum(timed_launch(browser).values())


STEPS_LINE = re.compile(r"spawn ended user=(?P<user>\S+) .*?steps=(?P<steps>.*)$")
# One step of the list: its message (which may itself hold "; ") up to its seconds.
STEP = re.compile(r"(?:^|; )(?P<message>.+?) (?P<secs>\d+\.\d+)s(?=; |$)")


def spawn_steps(log: str, user: str) -> dict[str, float]:
    """The hub's own split of `user`'s last spawn (the `steps` of its "spawn ended" log line):
    each progress step with its seconds."""
    steps: dict[str, float] = {}
    for line in log.splitlines():
        m = STEPS_LINE.search(line)
        if m and m["user"] == user:
            steps = {}
            for s in STEP.finditer(m["steps"].strip()):
                # Steps named after the image are folded under one name.
                name = re.sub(r"(Getting the image) .*", r"\1", s["message"])
                steps[name] = steps.get(name, 0.0) + float(s["secs"])
    return steps


def breakdown_rows(engine: str, phases: list[dict[str, float]], steps: list[dict[str, float]]) -> list[str]:
    """Markdown rows: the median of each browser phase over the single launches, and inside the
    middle one the hub's own steps (median of each)."""
    rows = []
    for phase in PHASES:
        values = [p[phase] for p in phases if phase in p]
        if values:
            rows.append(f"| {engine} | {phase} | {statistics.median(values):.3f} s | |")
        if phase == PHASES[1]:
            names = list(dict.fromkeys(name for s in steps for name in s))
            for name in names:
                vals = [s.get(name, 0.0) for s in steps]
                rows.append(f"| {engine} | &nbsp;&nbsp;hub step: {name} | {statistics.median(vals):.3f} s | from the hub's log |")
    return rows


def vm_kib(pid: int, field: str) -> int:
    """A `Vm*` line of /proc/<pid>/status, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def percentile(values: list[float], q: float) -> float:
    """The q-quantile by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def class_launch(hub: Hub, consumer: MoodleConsumer, n: int, prefix: str) -> tuple[list[float], list[str], float]:
    """N students launching at the same moment; returns (times of successes, errors, wall seconds)."""
    browsers = [Browser(hub, Student(f"{prefix}{i:02d}", user_id=str(5000 + i)), consumer) for i in range(n)]
    barrier = threading.Barrier(n)
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def run(b: Browser) -> None:
        barrier.wait()
        try:
            t = launch_to_ready(b)
            with lock:
                times.append(t)
        except Exception as e:  # every failure is counted and reported, the class goes on
            with lock:
                errors.append(f"{b.name}: {str(e)[:300]}")

    threads = [threading.Thread(target=run, args=(b,)) for b in browsers]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, errors, time.monotonic() - t0


def floor_start(engine: str, name: str, port: int) -> float:
    """Seconds to start the same image directly on the engine (no hub) until `jupyter lab` answers
    GET /lab with 200 on 127.0.0.1: the physical floor a hub's launch-to-ready is compared with."""
    t0 = time.monotonic()
    subprocess.run(
        [cli_of(engine), "run", "-d", "--name", name, "--network", "host", "--label", "lticontainer.bench=floor", IMAGE,
         "jupyter", "lab", "--ip=127.0.0.1", f"--port={port}", "--ServerApp.token=", "--ServerApp.password=",
         "--no-browser"],
        check=True, capture_output=True, timeout=300,
    )
    deadline = t0 + 300
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/lab", timeout=5).status_code == 200:
                return time.monotonic() - t0
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{name} did not answer on port {port} within 300 s")


def floor_class(engine: str, n: int) -> tuple[list[float], float]:
    """N direct starts at the same moment; returns (times, wall seconds). Removes the containers."""
    names = [f"hub-launch-floor-{os.getpid()}-{i}" for i in range(n)]
    ports = [free_port() for _ in range(n)]
    times: list[float] = []
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        barrier.wait()
        times.append(floor_start(engine, names[i], ports[i]))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    t0 = time.monotonic()
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return times, time.monotonic() - t0
    finally:
        subprocess.run([cli_of(engine), "rm", "-f", *names], capture_output=True, timeout=300)


def engine_version(engine: str) -> str:
    """The engine's server version."""
    fmt = "{{.Server.Version}}" if cli_of(engine) == "docker" else "{{.Version}}"
    return subprocess.run([cli_of(engine), "version", "--format", fmt], capture_output=True, text=True).stdout.strip()


def run_engine(engine: str, n: int, repeats: int, network: str = "isolated") -> tuple[list[str], list[str]]:
    """Measures one engine and returns the Markdown rows, and those of the single launches'
    breakdown. Floor and hub runs alternate (single
    launches one after the other, then the floor class right before the hub class), so load from
    other work on the machine hits both alike."""
    rows: list[str] = []
    breakdown: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hub-launch-") as tmp:
        # The hub's default timeouts; `network` as asked (the hub's default: isolated). Ports from
        # the start of the hub's default range (20000), as many as the launches need, and a pool
        # with a /28 for each (outside the e2e suite's 10.213.0.0/14).
        ports = (20000, 20000 + max(63, n + repeats + 3))
        hub = Hub(
            engine=engine,
            workdir=Path(tmp) / "hub",
            patient=False,
            network=network,
            port_range=ports,
            network_pool="10.212.0.0/20",
        )
        consumer = MoodleConsumer(CONSUMER_KEY, CONSUMER_SECRET, hub.launch_url)
        hub.start()
        try:
            idle_rss = vm_kib(hub.proc.pid, "VmRSS")
            solo: list[float] = []
            singles: list[float] = []
            phases: list[dict[str, float]] = []
            steps: list[dict[str, float]] = []
            for i in range(repeats):
                solo.append(floor_class(engine, 1)[0][0])
                b = Browser(hub, Student(f"solo{i}", user_id=str(4000 + i)), consumer)
                phases.append(timed_launch(b))
                singles.append(sum(phases[-1].values()))
                steps.append(spawn_steps(hub.log_path.read_text(errors="replace"), f"solo{i}"))
                print(f"  {engine}: run {i + 1}: floor {solo[-1]:.2f} s, hub {singles[-1]:.2f} s", file=sys.stderr)
            rows.append(
                f"| {engine} | floor: 1 container, no hub | {len(solo)}/{repeats} | {statistics.median(solo):.2f} s "
                f"| – | {max(solo):.2f} s | – | runs: {', '.join(f'{t:.2f}' for t in solo)} s |"
            )
            rows.append(
                f"| {engine} | 1 student | {len(singles)}/{repeats} | {statistics.median(singles):.2f} s "
                f"| – | {max(singles):.2f} s | – | runs: {', '.join(f'{t:.2f}' for t in singles)} s |"
            )
            breakdown = breakdown_rows(engine, phases, steps)
            # The single-student servers are removed so both classes start from the same state.
            hub.stop()
            remove_labelled(engine, hub.instance)

            times, wall = floor_class(engine, n)
            rows.append(
                f"| {engine} | floor: {n} containers at once, no hub | {len(times)}/{n} "
                f"| {statistics.median(times):.2f} s | {percentile(times, 0.95):.2f} s | {max(times):.2f} s "
                f"| {wall:.2f} s | |"
            )

            hub.start()
            times, errors, wall = class_launch(hub, consumer, n, "pupil")
            ok = len(times)
            med = f"{statistics.median(times):.2f} s" if times else "–"
            p95 = f"{percentile(times, 0.95):.2f} s" if times else "–"
            mx = f"{max(times):.2f} s" if times else "–"
            rows.append(f"| {engine} | {n} students at once | {ok}/{n} | {med} | {p95} | {mx} | {wall:.2f} s | |")
            for e in errors:
                print(f"  {engine}: FAILED {e}", file=sys.stderr)
            running = len(hub.containers(running_only=True))
            rss = vm_kib(hub.proc.pid, "VmRSS")
            hwm = vm_kib(hub.proc.pid, "VmHWM")
            rows.append(
                f"| {engine} | hub memory, {running} servers running | | VmRSS {rss / 1024:.1f} MiB | "
                f"| VmHWM {hwm / 1024:.1f} MiB | | idle before launches: {idle_rss / 1024:.1f} MiB |"
            )
        finally:
            hub.cleanup()
    return rows, breakdown


def source_commit() -> str:
    """The checkout's commit, marked when the work tree has uncommitted changes."""
    root = Path(__file__).resolve().parents[1]
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    commit = head.stdout.strip() or "unknown"
    return commit + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def shown_binary(binary: Path) -> str:
    """The binary as the report names it: by its place under the cargo target directory, not by
    this machine's path (`$LTICONTAINER_BIN` for one from elsewhere, e.g. another commit's)."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")).resolve()
    try:
        return f"$CARGO_TARGET_DIR/{binary.resolve().relative_to(target)}"
    except ValueError:
        return "$LTICONTAINER_BIN"


def main() -> None:
    """Runs the benchmark and prints a Markdown section for BENCHMARKS.md."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--engines", default="docker,podman")
    ap.add_argument("--students", type=int, default=10, help="class size launching at the same moment")
    ap.add_argument("--repeats", type=int, default=3, help="single-student launches (each a new student)")
    ap.add_argument("--network", default="isolated", choices=("isolated", "host"), help="the hub's networking")
    ap.add_argument("--command", default=" ".join(sys.argv), help="the command line to print with the figures")
    args = ap.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    binary = hub_binary()
    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?"
    )
    mem = int(next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal"))) // 1024
    header = [
        f"Command: `{args.command}` at commit {source_commit()}  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: {os.cpu_count()} cores ({cpu}), "
        f"{mem} MiB RAM, {platform.system()} {platform.release()}; load average at start "
        f"{os.getloadavg()[0]:.1f}  ",
        f"Binary: `{shown_binary(binary)}`; image: `{IMAGE}`; engines: "
        + ", ".join(f"{e} {engine_version(e)}" for e in engines)
        + "  ",
        "Launch-to-ready = signed LTI POST → spawn-pending → progress stream `ready` → GET /user/<name>/lab 200 "
        "(after the single-user OAuth round trip). The floor starts the same image directly with `jupyter lab` "
        f"(no hub, no OAuth) until GET /lab answers 200, with host networking on 127.0.0.1; the hub's servers use "
        f"{args.network} networking.",
        "",
        "| engine | workload | succeeded | median | p95 | max | wall | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows: list[str] = []
    breakdown = [
        "",
        "Where one student's launch-to-ready goes (median of the single launches): the phases the browser sees, "
        "and inside the wait for `ready` the hub's own steps (the `steps` of its `spawn ended` log line).",
        "",
        "| engine | phase | median | |",
        "|---|---|---|---|",
    ]
    for engine in engines:
        print(f"measuring {engine} …", file=sys.stderr)
        engine_rows, engine_breakdown = run_engine(engine, args.students, args.repeats, args.network)
        rows += engine_rows
        breakdown += engine_breakdown
    footer = ["", f"Load average at the end: {os.getloadavg()[0]:.1f}."]
    print("\n".join(header + rows + breakdown + footer))


if __name__ == "__main__":
    main()
