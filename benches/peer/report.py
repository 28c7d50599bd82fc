"""The figures of one run, as the Markdown section "Side by side with JupyterHub" of BENCHMARKS.md:
the machine and every version first, then the headline ratios against issue 5's targets, then each
workload's table with the command that produced it.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import engine
from launches import ClassResult, SingleResult, percentile
from proxy_load import LoadResult

OURS, PEER, FLOOR = "lticontainer", "JupyterHub", "floor"


@dataclass
class Memory:
    """Resident memory of a hub's process tree, idle and with the class's servers running."""

    idle_kib: int | None
    kib: int
    parts: list[tuple[str, int]]
    running: int


@dataclass
class ProxyRow:
    """One load run through one proxy."""

    proto: str
    connections: int
    target: str
    result: LoadResult


@dataclass
class Results:
    """Everything one run measured."""

    command: str
    versions: dict[str, str]
    started: float
    finished: float = 0.0
    floor_command: str = ""
    upstream: str = ""
    single: dict[str, list[SingleResult]] = field(default_factory=dict)
    classes: dict[int, dict[str, ClassResult]] = field(default_factory=dict)
    memory: dict[int, dict[str, Memory]] = field(default_factory=dict)
    proxy: list[ProxyRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # 1-minute load average when each class run started, keyed by (class size, side): the machine
    # is shared, and this says how much else was running.
    load: dict[tuple[int, str], float] = field(default_factory=dict)
    # 1-minute load average at the start of each round of single launches.
    single_load: list[float] = field(default_factory=list)
    # Each server's memory limit in bytes (the same on every side).
    mem_limit: int = 1 << 30
    # Where each class's launches went: by class size and side, each step's seconds per launch.
    class_steps: dict[int, dict[str, dict[str, list[float]]]] = field(default_factory=dict)


def _run(*args: str) -> str:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=60)
        return (out.stdout or out.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"? ({e})"


def versions(venv: Path, chp: Path, image: str) -> dict[str, str]:
    """Versions of every component, peer and ours."""
    v: dict[str, str] = {}
    freeze = _run(str(venv / "bin" / "pip"), "list", "--format=freeze", "--disable-pip-version-check")
    wanted = {"jupyterhub", "jupyterhub-ltiauthenticator", "dockerspawner", "oauthlib", "tornado", "docker",
              "sqlalchemy", "requests", "websocket-client"}
    for line in freeze.splitlines():
        name, _, ver = line.partition("==")
        if name.lower() in wanted:
            v[name.lower()] = ver
    v["configurable-http-proxy"] = _run(str(chp), "--version")
    v["node"] = _run("node", "--version")
    v["python (peer venv)"] = _run(str(venv / "bin" / "python"), "--version").removeprefix("Python ")
    v["docker engine"] = engine.version()
    v["image"] = f"{image} ({engine.image_id(image)})"
    v["wrk"] = (_run("wrk", "-v").splitlines() or ["?"])[0]
    repo = Path(__file__).resolve().parents[2]
    head = _run("git", "-C", str(repo), "rev-parse", "--short", "HEAD")
    dirty = _run("git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no", "--", "crates")
    v["lticontainer"] = head + (" (with uncommitted changes under crates/)" if dirty else "")
    return v


def _machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    mem = int(next(ln.split()[1] for ln in open("/proc/meminfo") if ln.startswith("MemTotal"))) // 1024
    load = os.getloadavg()
    return (f"{os.cpu_count()} CPUs (`nproc` {_run('nproc')}, {cpu}), {mem} MiB RAM, "
            f"{platform.system()} {platform.release()}; load average at the end {load[0]:.1f}")


def _s(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f} s"


def _ratio(a: float | None, b: float | None) -> str:
    return "–" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


def _size(n: int) -> str:
    """Bytes as docker would write them: whole GiB or MiB."""
    return f"{n >> 30} GiB" if n % (1 << 30) == 0 else f"{n / (1 << 20):g} MiB"


def _mib(kib: int | None) -> str:
    return "–" if kib is None else f"{kib / 1024:.1f} MiB"


def _median_ready(res: Results, side: str) -> float | None:
    runs = res.single.get(side) or []
    return statistics.median(r.ready_s for r in runs) if runs else None


def _proxy(res: Results, proto: str, c: int, target: str) -> LoadResult | None:
    return next((r.result for r in res.proxy if r.proto == proto and r.connections == c and r.target == target), None)


def headline(res: Results) -> list[str]:
    """The ratios issue 5 sets targets for."""
    rows = ["| question | lticontainer | JupyterHub | floor | ours / peer | ours / floor | target |",
            "|---|---|---|---|---|---|---|"]
    o, p, f = (_median_ready(res, s) for s in (OURS, PEER, FLOOR))
    rows.append(f"| 1 student, launch to JupyterLab ready (median) | {_s(o)} | {_s(p)} | {_s(f)} | {_ratio(o, p)} "
                f"| {_ratio(o, f)} | ours ≤ 1.1× floor |")
    for n, by in sorted(res.classes.items()):
        oc, pc, fc = by.get(OURS), by.get(PEER), by.get(FLOOR)

        def okw(c: ClassResult | None) -> str:
            return "–" if c is None else f"{c.ok}/{c.n} ok, {c.wall_s:.1f} s"

        def wall(c: ClassResult | None) -> float | None:
            # A wall time compares only when every launch of the class succeeded.
            return c.wall_s if c is not None and c.ok == c.n else None

        target = "all succeed, wall ≤ 1.3× floor" if n <= 10 else "(no target; reported)"
        rows.append(
            f"| {n} students at once, total wall time | {okw(oc)} | {okw(pc)} | {okw(fc)} "
            f"| {_ratio(wall(oc), wall(pc))} | {_ratio(wall(oc), wall(fc))} | {target} |"
        )
    for n, by in sorted(res.memory.items()):
        om, pm = by.get(OURS), by.get(PEER)
        target = "ours < 30 MB" if n >= 30 else "(reported)"

        def mem(m: Memory | None) -> str:
            return "–" if m is None else f"{_mib(m.kib)} ({m.running} running)"

        same = om is not None and pm is not None and om.running == pm.running
        rows.append(
            f"| hub resident memory after a class of {n} | {mem(om)} | {mem(pm)} (hub + proxy) "
            f"| | {_ratio(om.kib, pm.kib) if same else '–'} | | {target} |"
        )
    for proto in ("HTTP GET", "WebSocket echo"):
        o10, p10 = _proxy(res, proto, 10, OURS), _proxy(res, proto, 10, PEER)
        if o10 is None or p10 is None:
            continue
        rows.append(
            f"| proxy {proto}, 10 connections, per second | {o10.per_second:,.0f} | {p10.per_second:,.0f} | "
            f"| {_ratio(o10.per_second, p10.per_second)} | | ours ≥ 5× peer |"
        )
        rows.append(
            f"| proxy {proto}, 10 connections, p99 latency | {o10.p99_ms:.2f} ms | {p10.p99_ms:.2f} ms | "
            f"| {_ratio(o10.p99_ms, p10.p99_ms)} | | ours lower |"
        )
    return rows


def markdown(res: Results) -> str:
    """The whole section."""
    v = res.versions
    out = [
        "## Side by side with JupyterHub",
        "",
        f"Command: `{res.command}`  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(res.started))}, "
        f"{(res.finished - res.started) / 60:.1f} minutes  ",
        f"Machine: {_machine()}  ",
        "Peer: " + ", ".join(f"{k} {v[k]}" for k in ("jupyterhub", "jupyterhub-ltiauthenticator", "dockerspawner",
                                                     "configurable-http-proxy", "oauthlib", "tornado", "docker",
                                                     "sqlalchemy", "node", "python (peer venv)") if k in v) + "  ",
        f"Ours: lticontainer at {v.get('lticontainer', '?')}; engine: Docker {v.get('docker engine', '?')}; "
        f"image: `{v.get('image', '?')}`; load tools: {v.get('wrk', '?')}, ws-echo-load (benches/src/bin)",
        "",
        "Both hubs: LTI 1.1 launches signed by oauthlib (tests/e2e/lti_consumer.py) with the same consumer key "
        "and secret and the same parameters; Docker with host networking, servers on 127.0.0.1 with a port "
        f"each; the image's own command (jupyterhub-singleuser); 1 CPU and {_size(res.mem_limit)} of memory per "
        "server. lticontainer runs with its defaults but `network = \"host\"` (like the peer; isolation's cost is benches/network.sh's); "
        "JupyterHub with `start_timeout` and `http_timeout` raised to 600 s "
        "(benches/peer/jupyterhub_config.py). Launch to ready = launch POST → redirects → progress stream "
        "ready → GET /user/<name>/lab 200 after the single-user OAuth round trip. The floor starts the same "
        "containers with `docker run` and a stub hub API, ready = the server answers HTTP.",
        "",
        "### Headline",
        "",
        *headline(res),
    ]
    if res.single:
        out += ["", f"### 1. One student (command: `{res.command}`)", "",
                "| side | runs | launch to ready, median | each run | kernel start + `1+1` via proxy, median |",
                "|---|---|---|---|---|"]
        for side, runs in res.single.items():
            kern = statistics.median(r.kernel_s for r in runs) if side != FLOOR else None
            out.append(f"| {side} | {len(runs)} | {_s(statistics.median(r.ready_s for r in runs))} | "
                       f"{', '.join(f'{r.ready_s:.2f}' for r in runs)} s | {_s(kern)} |")
        out += ["", "Load average at the start of each round: "
                + ", ".join(f"{x:.1f}" for x in res.single_load) + ".",
                "", "Where one launch goes (median of each phase over the runs; a hub's own steps, from its log, "
                "lie inside the wait for `ready`):", "",
                "| side | phase | median | each run |", "|---|---|---|---|"]
        for side, runs in res.single.items():
            for phase in dict.fromkeys(p for r in runs for p in r.phases):
                vals = [r.phases.get(phase, 0.0) for r in runs]
                out.append(f"| {side} | {phase} | {statistics.median(vals) * 1000:.0f} ms "
                           f"| {', '.join(f'{v * 1000:.0f}' for v in vals)} ms |")
    if res.classes:
        out += ["", f"### 2–3. A class at once, and the floor (command: `{res.command}`)", "",
                "| students | side | succeeded | median | p95 | max | total wall | load average at start |",
                "|---|---|---|---|---|---|---|---|"]
        for n, by in sorted(res.classes.items()):
            for side, c in by.items():
                load = res.load.get((n, side))
                out.append(f"| {n} | {side} | {c.ok}/{c.n} | {_s(c.median())} | {_s(c.p95())} | {_s(c.max())} "
                           f"| {c.wall_s:.2f} s | {'–' if load is None else f'{load:.1f}'} |")
        if res.floor_command:
            out += ["", f"Floor command per server: `{res.floor_command}`"]
        if res.class_steps:
            out += ["", "Where a class's time goes: lticontainer's own steps of each launch (its log's "
                    "`spawn ended` lines; the engine's create + start is *Starting your container*, Jupyter's "
                    "own start is *Waiting for your server to answer*) and the floor's `docker run` against "
                    "the server's start; median, p95 and max over the class.", "",
                    "| students | side | phase | launches | median | p95 | max |", "|---|---|---|---|---|---|---|"]
            for n, by in sorted(res.class_steps.items()):
                for side, steps in by.items():
                    for step, vals in steps.items():
                        out.append(f"| {n} | {side} | {step} | {len(vals)} | {_s(statistics.median(vals))} "
                                   f"| {_s(percentile(vals, 0.95))} | {_s(max(vals))} |")
    if res.memory:
        out += ["", f"### 4. Hub resident memory (VmRSS of the process tree; command: `{res.command}`)", "",
                "| servers running | side | idle before the class | with the servers running | processes |",
                "|---|---|---|---|---|"]
        for n, by in sorted(res.memory.items()):
            for side, m in by.items():
                parts = ", ".join(f"{name} {kib / 1024:.1f} MiB" for name, kib in m.parts)
                out.append(f"| {m.running} (class of {n}) | {side} | {_mib(m.idle_kib)} | {_mib(m.kib)} | {parts} |")
    if res.proxy:
        out += ["", "### 5. Proxy throughput and latency", "",
                f"Upstream: {res.upstream}; lticontainer routes user `proxybench` to it (its running server), "
                "JupyterHub's configurable-http-proxy gets the same route through its REST API; `direct` is "
                "the upstream without a proxy. Requests to lticontainer carry the user's hub session cookie.",
                "",
                "| load | connections | through | per second | p50 | p90 | p99 | errors | command |",
                "|---|---|---|---|---|---|---|---|---|"]
        for r in res.proxy:
            x = r.result
            out.append(f"| {r.proto} | {r.connections} | {r.target} | {x.per_second:,.0f} | {x.p50_ms:.2f} ms "
                       f"| {x.p90_ms:.2f} ms | {x.p99_ms:.2f} ms | {x.errors} | `{x.command}` |")
        out.append("")
        for proto in ("HTTP GET", "WebSocket echo"):
            ratios = []
            for c in sorted({r.connections for r in res.proxy}):
                o, p = _proxy(res, proto, c, OURS), _proxy(res, proto, c, PEER)
                if o and p:
                    ratios.append(f"{c}: {_ratio(o.per_second, p.per_second)} req/s, p99 {_ratio(o.p99_ms, p.p99_ms)}")
            if ratios:
                out.append(f"{proto}, ours / peer by connections — " + "; ".join(ratios) + "  ")
    if res.errors:
        out += ["", "### Failures during the run", ""]
        out += ["- " + re.sub(r"\s+", " ", e)[:800] for e in res.errors]
    return "\n".join(out) + "\n"
