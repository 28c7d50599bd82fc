"""lticontainer side by side with the stack it replaces (JupyterHub 5 + ltiauthenticator +
DockerSpawner + configurable-http-proxy) and with the floor (the same containers, no hub), on the
same engine, image, limits and machine, alternating, in one run. Prints a Markdown section for
BENCHMARKS.md. Run it through benches/peer/run.sh, which installs and builds what it needs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import traceback
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests" / "e2e"))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # benches/hub_launch.py: the hub log's spawn steps

import engine  # noqa: E402
import requests  # noqa: E402
import report  # noqa: E402
from launches import ClassResult, at_once  # noqa: E402
from proxy_load import ws_echo, wrk  # noqa: E402
from sides import FloorSide, OursSide, PeerSide, Settings  # noqa: E402

PROXY_USER = "proxybench"


def log(msg: str) -> None:
    """Progress on stderr (stdout is the report)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def single_workload(sides: list, repeats: int, res: report.Results) -> None:
    """Workload 1, alternating: each repeat runs every side once with a new student."""
    for side in sides:
        side.start()
    try:
        for r in range(repeats):
            res.single_load.append(os.getloadavg()[0])
            for side in sides:
                name = f"solo{r}"
                try:
                    out = side.single(name)
                    res.single.setdefault(side.name, []).append(out)
                    log(f"1 student, {side.name}, run {r + 1}: ready {out.ready_s:.2f} s, kernel 1+1 {out.kernel_s:.2f} s")
                except Exception as e:
                    res.errors.append(f"1 student, {side.name}, run {r + 1}: {type(e).__name__}: {e}")
                    log(res.errors[-1][:2000])
    finally:
        for side in sides:
            side.cleanup()


def wait_until_quiet(below: float = 2.0, at_most_s: float = 300.0) -> None:
    """Waits (at most `at_most_s`) until the 1-minute load average is below `below`: the previous
    side's class leaves the machine busy for a while (removing 100 containers), and its load
    average lags the machine by a minute or more."""
    deadline = time.monotonic() + at_most_s
    while os.getloadavg()[0] >= below and time.monotonic() < deadline:
        time.sleep(5)


def class_workload(sides: list, n: int, res: report.Results) -> None:
    """Workloads 2 and 4 for one class size: each side from a fresh start, one after the other,
    each on a machine as quiet as it gets (see `wait_until_quiet`)."""
    for side in sides:
        wait_until_quiet()
        side.start()
        try:
            idle = side.memory()[0] if hasattr(side, "memory") else None
            res.load[(n, side.name)] = os.getloadavg()[0]
            log(f"{n} at once, {side.name} (load average {res.load[(n, side.name)]:.1f}) …")
            out: ClassResult = at_once(n, lambda i, s=side: s.start_one(f"pupil{i:02d}"))
            res.classes.setdefault(n, {})[side.name] = out
            log(f"{n} at once, {side.name}: {out.ok}/{n} in {out.wall_s:.1f} s (median {out.median()})")
            steps = {k: v for k, v in side.class_steps([f"pupil{i:02d}" for i in range(n)]).items() if v}
            if steps:  # the peer's log gives no per-step split
                res.class_steps.setdefault(n, {})[side.name] = steps
            for e in out.errors:
                log(f"  {side.name} FAILED {e[:600]}")
            if hasattr(side, "memory"):
                total, parts = side.memory()
                res.memory.setdefault(n, {})[side.name] = report.Memory(idle, total, parts, side.running())
        except Exception as e:
            res.errors.append(f"{n} at once, {side.name}: {type(e).__name__}: {e}")
            log(res.errors[-1][:2000])
            if hasattr(side, "log_tail"):
                log(side.log_tail())
        finally:
            side.cleanup()


def check_upstream_answers(url: str, cookie: str | None, through: str) -> None:
    """Makes sure a proxy hands the request to the upstream (wrk counts redirects as successes)."""
    r = requests.get(url, headers={"Cookie": cookie} if cookie else {}, allow_redirects=False, timeout=30)
    if r.status_code != 200 or "lticontainer-bench" not in r.text:
        raise RuntimeError(f"GET {url} through {through} answered {r.status_code}, not the upstream: {r.text[:300]}")


def proxy_workload(ours: OursSide | None, peer: PeerSide | None, conns: list[int], seconds: int,
                   ws_tool: str, res: report.Results) -> None:
    """Workload 5: the upstream runs as lticontainer user `proxybench`'s server; the peer's proxy
    gets a route to the same process, as JupyterHub would add it."""
    if ours is None:
        res.errors.append("proxy: needs lticontainer to start the upstream (run with ours in --systems)")
        return
    ours.start()
    try:
        b = ours.student(PROXY_USER, custom={"lms_image": ours.settings.upstream_image})
        b.launch()
        b.wait_ready(timeout=300)
        ids = ours.hub.containers(user=PROXY_USER, running_only=True)
        if len(ids) != 1:
            raise RuntimeError(f"expected one running upstream container for {PROXY_USER}, found {ids}")
        upstream = engine.service_url(ids[0]).rstrip("/")
        upstream_base = upstream.split("/user/")[0]
        prefix = f"/user/{PROXY_USER}"
        cookie = b.cookie_header(f"{ours.hub.url}{prefix}/")
        if not cookie:
            raise RuntimeError("no hub session cookie for the proxy user")
        targets = [("lticontainer", ours.hub.url, cookie)]
        if peer is not None:
            peer.start()
            peer.hub.add_route(prefix, upstream_base)
            targets.append(("JupyterHub", peer.hub.url, None))
        targets.append(("direct", upstream_base, None))
        for name, base, ck in targets:
            check_upstream_answers(f"{base}{prefix}/ping", ck, name)
        res.upstream = f"{upstream_base} (bench-upstream in container {ids[0][:12]})"
        for proto in ("HTTP GET", "WebSocket echo"):
            for c in conns:
                for name, base, ck in targets:
                    try:
                        if proto == "HTTP GET":
                            out = wrk(f"{base}{prefix}/ping", c, seconds, ck)
                        else:
                            ws_base = base.replace("http://", "ws://", 1)
                            out = ws_echo(ws_tool, f"{ws_base}{prefix}/echo", c, seconds, ck)
                        res.proxy.append(report.ProxyRow(proto, c, name, out))
                        log(f"{proto}, {c} conn, {name}: {out.per_second:.0f}/s, p50 {out.p50_ms:.2f} ms, "
                            f"p99 {out.p99_ms:.2f} ms, errors {out.errors}")
                    except Exception as e:
                        res.errors.append(f"proxy {proto} {c} conn {name}: {type(e).__name__}: {e}")
                        log(res.errors[-1][:2000])
    finally:
        ours.cleanup()
        if peer is not None:
            peer.cleanup()


def parse_memory(text: str) -> int:
    """Bytes from a size as `docker run --memory` takes it: a number with an optional k, m or g."""
    units = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.strip().lower().removesuffix("b")
    unit = t[-1:] if t[-1:] in units else ""
    number = t[: len(t) - len(unit)]
    if not number.isdigit() or int(number) == 0:
        raise ValueError(f"--memory {text!r}: expected a size such as 200m or 1g")
    return int(number) * units[unit]


def main() -> None:
    """Runs the chosen workloads and prints the report."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--venv", required=True, type=Path, help="the peer's Python venv")
    ap.add_argument("--chp", required=True, type=Path, help="the configurable-http-proxy executable")
    ap.add_argument("--ws-tool", required=True, help="the ws-echo-load executable")
    ap.add_argument("--image", default="lticontainer-test/jupyter:latest")
    ap.add_argument("--upstream-image", default="lticontainer-bench/upstream:latest")
    ap.add_argument("--systems", default="ours,peer,floor", help="any of ours, peer, floor")
    ap.add_argument("--workloads", default="single,class,proxy", help="any of single, class, proxy")
    ap.add_argument("--students", default="10,30", help="class sizes")
    ap.add_argument("--repeats", type=int, default=3, help="single-student launches per side")
    ap.add_argument("--connections", default="1,10,50", help="proxy load connection counts")
    ap.add_argument("--seconds", type=int, default=10, help="duration of each proxy load run")
    ap.add_argument("--memory", default="1g",
                    help="each server's memory limit on every side, e.g. 200m (default 1g, the hub's own default)")
    ap.add_argument("--command", default=" ".join(sys.argv), help="the command line printed with the figures")
    args = ap.parse_args()
    args.command = args.command.strip()
    systems = set(args.systems.split(","))
    workloads = set(args.workloads.split(","))
    unknown = (systems - {"ours", "peer", "floor"}) | (workloads - {"single", "class", "proxy"})
    if unknown:
        ap.error(f"unknown systems/workloads: {', '.join(sorted(unknown))}")

    run_id = engine.OURS_INSTANCE_PREFIX + uuid.uuid4().hex[:8]
    try:
        mem_limit = parse_memory(args.memory)
    except ValueError as e:
        ap.error(str(e))
    settings = Settings(args.image, args.upstream_image, args.venv, args.chp, run_id, mem_limit)
    versions = report.versions(args.venv, args.chp, args.image)
    res = report.Results(command=args.command, versions=versions, started=time.time(), mem_limit=mem_limit)
    left = engine.remove_leftovers()
    if left:
        log(f"removed {left} containers left by an earlier run")
    ours = OursSide(settings) if "ours" in systems else None
    peer = PeerSide(settings) if "peer" in systems else None
    floor = FloorSide(settings, versions.get("jupyterhub", "5")) if "floor" in systems else None
    sides = [s for s in (ours, peer, floor) if s is not None]
    try:
        if floor:
            floor.start()
            res.floor_command = floor.floor.command_template()
        if "single" in workloads:
            single_workload(sides, args.repeats, res)
        if "class" in workloads:
            for n in [int(x) for x in args.students.split(",") if x]:
                class_workload(sides, n, res)
        if "proxy" in workloads:
            proxy_workload(ours, peer, [int(x) for x in args.connections.split(",") if x], args.seconds,
                           args.ws_tool, res)
    except KeyboardInterrupt:
        res.errors.append("interrupted")
    except Exception:
        res.errors.append(traceback.format_exc())
        log(res.errors[-1])
    finally:
        for side in sides:
            try:
                side.cleanup()
            except Exception as e:  # keep cleaning the others
                log(f"cleanup of {side.name} failed: {e}")
        if floor:
            floor.stop()
        engine.remove_leftovers()
    res.finished = time.time()
    if res.errors or any(c.errors for by in res.classes.values() for c in by.values()):
        log(f"hub logs and state kept in {settings.workdir}")
    else:
        shutil.rmtree(settings.workdir, ignore_errors=True)
    print(report.markdown(res))


if __name__ == "__main__":
    main()
