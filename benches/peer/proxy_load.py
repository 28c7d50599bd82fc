"""Workload 5: load through a proxy to the shared upstream — small HTTP GETs with `wrk` (Debian's)
and WebSocket echo round trips with `ws-echo-load` (this crate's binary), each bounded in time.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from dataclasses import dataclass

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


@dataclass
class LoadResult:
    """What one load run measured (latencies in milliseconds)."""

    command: str
    per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    count: int
    errors: int
    note: str = ""


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"unreadable wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(out: str) -> tuple[float, dict[str, float], int, int]:
    """(requests/s, {"50%": ms, …}, requests, errors) from `wrk --latency` output."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    total = re.search(r"^\s*(\d+) requests in", out, re.M)
    if not rps or not total:
        raise ValueError(f"unreadable wrk output:\n{out}")
    dist = {m.group(1) + "%": _ms(m.group(2)) for m in re.finditer(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M)}
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sock:
        errors += sum(int(x) for x in sock.groups())
    return float(rps.group(1)), dist, int(total.group(1)), errors


def wrk(url: str, connections: int, seconds: int, cookie: str | None) -> LoadResult:
    """`wrk` with one thread (the machine has two cores; the proxy and upstream need the rest)."""
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if cookie:
        args += ["-H", f"Cookie: {cookie}"]
    args.append(url)
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(f"{shlex.join(args)} failed: {out.stderr.strip() or out.stdout.strip()}")
    rps, dist, total, errors = parse_wrk(out.stdout)
    return LoadResult(
        command=_redact(shlex.join(args), cookie),
        per_second=rps,
        p50_ms=dist.get("50%", 0.0),
        p90_ms=dist.get("90%", 0.0),
        p99_ms=dist.get("99%", 0.0),
        count=total,
        errors=errors,
    )


def ws_echo(tool: str, url: str, connections: int, seconds: int, cookie: str | None) -> LoadResult:
    """`ws-echo-load`: one 64-byte text message in flight per connection, echoed back."""
    args = [tool, "--url", url, "--connections", str(connections), "--seconds", str(seconds), "--threads", "1"]
    if cookie:
        args += ["--header", f"Cookie: {cookie}"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(f"{shlex.join(args)} failed: {out.stderr.strip()}")
    r = json.loads(out.stdout)
    # The report names the tool by where run.sh builds it, not by this machine's path.
    shown = "$CARGO_TARGET_DIR/release/ws-echo-load " + shlex.join(args[1:])
    return LoadResult(
        command=_redact(shown, cookie),
        per_second=r["per_second"],
        p50_ms=r["p50_us"] / 1e3,
        p90_ms=r["p90_us"] / 1e3,
        p99_ms=r["p99_us"] / 1e3,
        count=r["round_trips"],
        errors=r["failed_connections"],
        note=r["first_error"] or "",
    )


def _redact(command: str, cookie: str | None) -> str:
    """The command for the report, with the session cookie's value left out."""
    return command.replace(cookie, "<session cookie>") if cookie else command
