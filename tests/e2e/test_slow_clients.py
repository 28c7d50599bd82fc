"""(f) Slow clients and floods: stalled heads and bodies are cut at their deadlines, a huge declared
body is refused before it is read, memory stays bounded, connection caps refuse at once, and a
real student's launch answers quickly all along.

The flood comes from 127.0.0.2, another loopback address (Linux routes all of 127/8 to `lo`), so
it is a different client than the student on 127.0.0.1; all traffic goes to the test's own hub on
127.0.0.1. Everything is bounded: 200 + 200 + 1 sockets in the first test, 81 in the second.
"""

from __future__ import annotations

import selectors
import socket
import time
from dataclasses import dataclass, field

from hub import Hub

FLOOD_FROM = "127.0.0.2"
N = 200
# The hub's defaults ([hub] header_timeout_secs, body_timeout_secs): the first test sets nothing.
HEADER_DEADLINE = 10.0
BODY_DEADLINE = 10.0
# A loaded 2-core machine may be late by a few seconds; a hub without deadlines never closes.
MARGIN = 10.0
MAX_LAUNCH_BODY = 256 * 1024
SENT_PER_BODY = 255 * 1024
# The hub's stated bound per connection (lticontainer_http::serve): 32 KiB head + 32 KiB read
# buffer + the body the gate buffers (256 KiB for a launch). Slack: allocator, runtime, debug build.
PER_BODY_CONN = 320 * 1024
PER_HEAD_CONN = 64 * 1024
SLACK = 48 * 1024 * 1024


def vm_rss(pid: int) -> int:
    """The resident memory of process `pid`, in bytes (from /proc/<pid>/status)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def raw(hub: Hub, source: str = FLOOD_FROM) -> socket.socket:
    """A plain TCP connection to the hub from `source`."""
    return socket.create_connection(("127.0.0.1", hub.port), timeout=10, source_address=(source, 0))


@dataclass
class Watched:
    """A flood socket and what the hub did with it."""

    sock: socket.socket
    kind: str
    answer: bytes = b""
    closed_at: float | None = None
    opened_at: float = field(default_factory=time.monotonic)


def watch_until_closed(socks: list[Watched], until: float, hub_pid: int) -> int:
    """Reads what the hub sends each socket until it closes it or `until` passes; returns the
    hub's peak VmRSS seen meanwhile."""
    sel = selectors.DefaultSelector()
    for w in socks:
        w.sock.setblocking(False)
        sel.register(w.sock, selectors.EVENT_READ, w)
    peak = vm_rss(hub_pid)
    open_left = len(socks)
    while open_left and time.monotonic() < until:
        for key, _ in sel.select(timeout=0.25):
            w: Watched = key.data
            try:
                data = w.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            except BlockingIOError:
                continue
            if data:
                w.answer += data
                continue
            w.closed_at = time.monotonic()
            sel.unregister(w.sock)
            open_left -= 1
        peak = max(peak, vm_rss(hub_pid))
    sel.close()
    return peak


def test_stalled_clients_are_cut_and_a_launch_still_answers(hub, student):
    alice = student(hub, "alice")
    started = time.monotonic()
    alice.launch()
    normal = time.monotonic() - started
    pid = hub.proc.pid
    rss_before = vm_rss(pid)

    t0 = time.monotonic()
    flood: list[Watched] = []
    host = f"Host: 127.0.0.1:{hub.port}\r\n"
    for _ in range(N):  # stalled in the head: never ends its headers
        s = raw(hub)
        s.sendall(f"GET /hub/health HTTP/1.1\r\n{host}X-Slow: ".encode())
        flood.append(Watched(s, "head"))
    body = b"x" * SENT_PER_BODY
    for _ in range(N):  # stalled in the body: declares the launch limit, sends 255 KiB, stops
        s = raw(hub)
        s.sendall(
            (
                f"POST /hub/lti/launch HTTP/1.1\r\n{host}Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {MAX_LAUNCH_BODY}\r\n\r\n"
            ).encode()
            + body
        )
        flood.append(Watched(s, "body"))
    huge = raw(hub)
    huge.sendall(f"POST /hub/lti/launch HTTP/1.1\r\n{host}Content-Length: 999999999999\r\n\r\n".encode())
    huge_w = Watched(huge, "huge")
    flood.append(huge_w)
    opened = time.monotonic() - t0

    # A real student's launch while all of it is held.
    started = time.monotonic()
    landed = alice.launch()
    during = time.monotonic() - started

    peak = watch_until_closed(flood, t0 + max(HEADER_DEADLINE, BODY_DEADLINE) + MARGIN, pid)
    elapsed = time.monotonic() - t0
    for w in flood:
        w.sock.close()

    heads = [w for w in flood if w.kind == "head"]
    bodies = [w for w in flood if w.kind == "body"]
    open_heads = sum(w.closed_at is None for w in heads)
    open_bodies = sum(w.closed_at is None for w in bodies)
    bound = rss_before + N * PER_BODY_CONN + N * PER_HEAD_CONN + SLACK
    late = [w.closed_at - w.opened_at for w in heads + bodies if w.closed_at is not None]
    print(
        f"flood of {len(flood)} opened in {opened:.1f}s; after {elapsed:.1f}s still open: {open_heads} heads, "
        f"{open_bodies} bodies; closed after {min(late, default=0):.1f}–{max(late, default=0):.1f}s; "
        f"huge declared answered {huge_w.answer[:12]!r}; VmRSS {rss_before >> 20} MiB before, peak {peak >> 20} MiB "
        f"(bound {bound >> 20} MiB); launch {normal:.2f}s before, {during:.2f}s during the flood"
    )
    problems = []
    if open_heads:
        problems.append(f"{open_heads} of {N} connections stalled in their headers still open after {elapsed:.0f}s")
    if open_bodies:
        problems.append(f"{open_bodies} of {N} connections stalled in their bodies still open after {elapsed:.0f}s")
    if not huge_w.answer.startswith(b"HTTP/1.1 413"):
        problems.append(f"Content-Length: 999999999999 answered {huge_w.answer[:40]!r}, not 413")
    elif huge_w.closed_at is None or huge_w.closed_at - t0 > opened + 5:
        problems.append("the 413 did not close its connection at once")
    not_408 = [w.answer[:20] for w in bodies if w.closed_at is not None and not w.answer.startswith(b"HTTP/1.1 408")]
    if not_408:
        problems.append(f"{len(not_408)} stalled bodies were closed without a 408: {not_408[:3]}")
    if late and min(late) < min(HEADER_DEADLINE, BODY_DEADLINE) * 0.8:
        problems.append(f"a stalled connection was cut after {min(late):.1f}s, before its deadline")
    if peak > bound:
        problems.append(f"the hub's VmRSS peaked at {peak >> 20} MiB, over the bound of {bound >> 20} MiB")
    # The launch lands on the progress page, or on the server itself once the first launch's
    # spawn has finished (it may have, while the flood was being opened).
    answered = landed == f"{hub.url}/hub/spawn-pending/alice" or landed.startswith(f"{hub.url}/user/alice/")
    if not answered or during > 5.0:
        problems.append(f"the launch during the flood took {during:.1f}s and landed on {landed}")
    assert not problems, "; ".join(problems) + f"\n{hub.log_tail(20)}"


def test_connection_caps_refuse_at_once(make_hub, student):
    # A long header deadline: the held connections send nothing and must stay open meanwhile.
    hub = make_hub(hub_config="max_connections = 80\nmax_connections_per_ip = 50\nheader_timeout_secs = 120\n")
    host = f"Host: 127.0.0.1:{hub.port}\r\n"

    def health(source: str) -> bytes:
        got = b""
        with raw(hub, source) as s:
            s.settimeout(5)
            try:
                s.sendall(f"GET /hub/health HTTP/1.1\r\n{host}Connection: close\r\n\r\n".encode())
                while chunk := s.recv(4096):
                    got += chunk
            except (ConnectionResetError, BrokenPipeError, TimeoutError):
                pass
        return got

    held = [raw(hub, FLOOD_FROM) for _ in range(50)]
    time.sleep(0.5)  # the hub has taken their slots
    started = time.monotonic()
    over = health(FLOOD_FROM)
    refused_in = time.monotonic() - started
    assert over.startswith(b"HTTP/1.1 503") or over == b"", f"the 51st connection from one address got {over[:60]!r}"
    assert refused_in < 2.0, f"refusing over the per-address cap took {refused_in:.1f}s"
    assert health("127.0.0.3").startswith(b"HTTP/1.1 200"), "another address is refused too"
    alice = student(hub, "alice")
    assert alice.launch() == f"{hub.url}/hub/spawn-pending/alice"

    more = [raw(hub, "127.0.0.3") for _ in range(30)]  # 80 open: the total cap
    time.sleep(0.5)
    over_total = health("127.0.0.4")
    assert over_total.startswith(b"HTTP/1.1 503") or over_total == b"", f"over the total cap: {over_total[:60]!r}"

    for s in held + more:
        s.close()
    deadline = time.monotonic() + 5
    while not health(FLOOD_FROM).startswith(b"HTTP/1.1 200"):
        assert time.monotonic() < deadline, "closed connections did not give their slots back"
        time.sleep(0.2)
