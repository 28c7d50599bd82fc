"""Issue 12: one student's code cannot read another student's kernel, nor reach their server or
the host's loopback services; the hub API answers the student's server where it is meant to.

The attack as it was found: with host networking every container shares the host's loopback, and
a kernel binds its ZMQ ports there, so code in Bob's JupyterLab subscribed with pyzmq to Alice's
kernel IOPub port and received every cell Alice ran, with its output. Here Bob's kernel does just
that (and a few plain TCP connects) while Alice runs a cell with a secret in it.

With the default, isolated networking, each server has its own network namespace (its own
loopback) on a network of its own: nothing answers. Run with `LTICONTAINER_E2E_NETWORK=host` to
see the test catch the leak there.

Network rule: Bob's probes go only to loopback, to Alice's container (made by this test), to the
gateway of Alice's network (the host's address on a network this test's hub made) and to this
test's hub; each is bounded (2 s connects, one short listen).
"""

from __future__ import annotations

import ast
import json
import time
import uuid

import pytest
import requests
from hub import Hub, engine_cli

LISTEN_SECONDS = 8

# Run in Bob's kernel: subscribe to every given ZMQ URL in a background thread for a while.
LISTEN = r"""
import threading, time, zmq
_leak = {"frames": [], "errors": []}
def _listen(urls, seconds):
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    for u in urls:
        try:
            sub.connect(u)
        except zmq.ZMQError as e:
            _leak["errors"].append(f"{u}: {e}")
    poller = zmq.Poller()
    poller.register(sub, zmq.POLLIN)
    end = time.time() + seconds
    while time.time() < end:
        if poller.poll(200):
            _leak["frames"].extend(f.decode("utf-8", "replace") for f in sub.recv_multipart())
    sub.close()
_leak_thread = threading.Thread(target=_listen, args=(__URLS__, __SECONDS__), daemon=True)
_leak_thread.start()
"listening"
"""

# Run in Bob's kernel: what came in, and what every target answers to a plain TCP connect.
PROBE = r"""
import json, socket, urllib.error, urllib.request
_leak_thread.join(__SECONDS__ + 5)
def _reach(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect((host, port))
    except socket.timeout:
        return "no answer (connect timed out)"
    except OSError as e:
        return f"unreachable ({e.strerror or e})"
    try:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = s.recv(64)
        return f"ANSWERED {data[:24]!r}" if data else "closed without a byte"
    except socket.timeout:
        return "OPEN (connected; no reply within 2 s)"
    except OSError as e:
        return f"closed ({e.strerror or e})"
    finally:
        s.close()
def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read(300).decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read(300).decode("utf-8", "replace")
    except Exception as e:
        return None, repr(e)
json.dumps({
    "frames": _leak["frames"],
    "zmq_errors": _leak["errors"],
    "reach": {name: _reach(host, port) for name, host, port in __TARGETS__},
    "api": {path: _get(__API__ + path) for path in ("/", "/users")},
})
"""


def _cell(template: str, **values) -> str:
    """`template` with each `__NAME__` replaced by the JSON (here a Python literal) of its value."""
    for name, value in values.items():
        template = template.replace(f"__{name}__", json.dumps(value))
    return template


def _container(hub: Hub, user: str) -> dict:
    """The engine's description of `user`'s running container (made by this test's hub)."""
    ids = hub.containers(user, running_only=True)
    assert len(ids) == 1, f"{user}: {ids}"
    return json.loads(engine_cli(hub.engine, "inspect", ids[0]))[0]


def _ip(info: dict) -> str | None:
    nets = (info.get("NetworkSettings") or {}).get("Networks") or {}
    ips = [n.get("IPAddress") for n in nets.values() if n.get("IPAddress")]
    return ips[0] if ips else None


def _env(info: dict) -> dict[str, str]:
    return dict(e.split("=", 1) for e in info["Config"]["Env"])


def test_a_students_kernel_cannot_reach_another_students(hub, student):
    alice, bob = student(hub, "alice"), student(hub, "bob")
    for b in (alice, bob):
        b.launch()
        b.wait_ready()
        b.open_lab()
    a_info, b_info = _container(hub, "alice"), _container(hub, "bob")
    a_ip, a_env, b_env = _ip(a_info), _env(a_info), _env(b_info)
    a_port = int(a_info["Config"]["Labels"]["lticontainer.port"])
    a_api = a_env["JUPYTERHUB_API_URL"]

    a_kernel, b_kernel = alice.start_kernel(), bob.start_kernel()
    try:
        conn = json.loads(
            ast.literal_eval(
                alice.run(
                    a_kernel,
                    "import json\nfrom ipykernel.connect import get_connection_info\n"
                    "json.dumps(get_connection_info(unpack=True), default=str)",
                )
            )
        )
        ports = {k: conn[k] for k in ("iopub_port", "shell_port", "control_port", "stdin_port", "hb_port")}
        urls = [f"tcp://127.0.0.1:{ports['iopub_port']}"]
        targets = [(f"alice's kernel {k} on 127.0.0.1", "127.0.0.1", p) for k, p in ports.items()]
        targets.append(("the hub's own port on 127.0.0.1", "127.0.0.1", hub.port))
        # Where the hub reaches Alice's server: her container's address, or loopback on the host.
        targets.append(("alice's Jupyter server", a_ip or "127.0.0.1", a_port))
        if a_ip:
            urls.append(f"tcp://{a_ip}:{ports['iopub_port']}")
            targets.append(("alice's kernel iopub at her container", a_ip, ports["iopub_port"]))
        if a_api.split("//", 1)[1].split(":")[0] != "127.0.0.1":
            gw = a_api.split("//", 1)[1].split(":")[0]
            targets.append(("the hub API port at alice's gateway", gw, hub.api_port))

        assert bob.run(b_kernel, _cell(LISTEN, URLS=urls, SECONDS=LISTEN_SECONDS)) == "'listening'"
        time.sleep(1.5)  # let the subscription connect (where it can)
        secret = "alice-secret-" + uuid.uuid4().hex
        assert alice.run(a_kernel, f"print({secret!r}); {secret!r}") == repr(secret)
        seen = json.loads(
            ast.literal_eval(
                bob.run(b_kernel, _cell(PROBE, TARGETS=targets, SECONDS=LISTEN_SECONDS, API=b_env["JUPYTERHUB_API_URL"]), timeout=120)
            )
        )
    finally:
        alice.api("DELETE", f"kernels/{a_kernel}")
        bob.api("DELETE", f"kernels/{b_kernel}")

    leaked = [f for f in seen["frames"] if secret in f]
    report = [
        f"network: {hub.network}; alice at {a_ip or '127.0.0.1 (host network)'}, hub API for bob: {b_env['JUPYTERHUB_API_URL']}",
        f"bob's pyzmq subscriber on {urls}: {len(seen['frames'])} frames, {len(leaked)} with alice's secret",
        *(f"  leaked frame: {f[:160]!r}" for f in leaked[:3]),
        *(f"bob -> {name}: {result}" for name, result in seen["reach"].items()),
        *(f"bob GET {b_env['JUPYTERHUB_API_URL']}{path} -> {status} {body[:80]!r}" for path, (status, body) in seen["api"].items()),
    ]
    print("\n".join(report))

    problems = []
    if leaked:
        problems.append(f"bob's kernel read alice's cell through her kernel's IOPub: {leaked[0][:120]!r}")
    problems += [
        f"bob reached {name}: {result}"
        for name, result in seen["reach"].items()
        if result.startswith(("ANSWERED", "OPEN"))
    ]
    status, body = seen["api"]["/"]
    if status != 200 or '"version"' not in body:
        problems.append(f"the hub API did not answer bob's server at its JUPYTERHUB_API_URL: {status} {body[:120]!r}")
    status, _ = seen["api"]["/users"]
    if status != 404:
        problems.append(f"the admin API is reachable from bob's container: {status}")
    assert not problems, "isolation broken:\n  " + "\n  ".join(problems) + "\n" + "\n".join(report)


def test_each_server_has_its_own_network_and_it_goes_with_the_server(make_hub, student):
    token = "e2e-admin-" + uuid.uuid4().hex
    hub = make_hub(hub_config=f'api_token = "{token}"\n')
    alice, bob = student(hub, "alice"), student(hub, "bob")
    for b in (alice, bob):
        b.launch()
        b.wait_ready()
    if hub.network == "host":
        assert hub.networks() == []
        return
    nets = sorted(hub.networks())
    assert nets == [f"{hub.instance}-alice-net", f"{hub.instance}-bob-net"], nets
    a_ip, b_ip = _ip(_container(hub, "alice")), _ip(_container(hub, "bob"))
    as_int = [int.from_bytes(bytes(int(o) for o in ip.split(".")), "big") for ip in (a_ip, b_ip)]
    assert as_int[0] >> 4 != as_int[1] >> 4, f"alice {a_ip} and bob {b_ip} share a /28"
    # A restart keeps the running servers and their networks.
    hub.restart()
    assert sorted(hub.networks()) == nets
    alice.open_lab()
    assert alice.execute("1+1") == "2"
    # Stopping a server (Moodle's admin API) removes its network with it.
    r = requests.delete(
        f"{hub.url}/hub/api/users/alice/server", headers={"Authorization": f"token {token}"}, timeout=60
    )
    assert r.status_code in (202, 204), (r.status_code, r.text)
    assert hub.networks() == [f"{hub.instance}-bob-net"]


# Run in Bob's kernel: hold many connections to the hub API at his network's gateway without
# sending a byte, then see which the hub refused at once (503) and which it closed at its deadline.
HOLD = r"""
import json, socket, time, urllib.request
_socks, _connect_errors = [], []
for _ in range(__COUNT__):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect((__GW__, __PORT__))
        _socks.append(s)
    except OSError as e:
        _connect_errors.append(str(e))
time.sleep(1)
_busy, _held, _closed_early = 0, [], 0
for s in _socks:
    s.setblocking(False)
    try:
        data = s.recv(64)
    except BlockingIOError:
        _held.append(s)
        continue
    except OSError:
        data = b""
    if data.startswith(b"HTTP/1.1 503"):
        _busy += 1
    else:
        _closed_early += 1
time.sleep(__WAIT__)
_closed = 0
for s in _held:
    s.setblocking(True)
    s.settimeout(0.5)
    try:
        _closed += s.recv(64) == b""
    except socket.timeout:
        pass
    except OSError:
        _closed += 1
for s in _socks:
    s.close()
with urllib.request.urlopen(__API__ + "/", timeout=10) as r:
    _after = r.status
json.dumps({"opened": len(_socks), "connect_errors": _connect_errors[:3], "busy": _busy,
            "closed_early": _closed_early, "held": len(_held), "closed_at_deadline": _closed, "api_after": _after})
"""


def test_a_students_code_cannot_tie_up_the_hub_api_at_its_gateway(make_hub, student):
    # Before: the servers' hub API listener had no connection cap and no header deadline, so code
    # in a notebook could hold any number of idle connections open for ever.
    header_timeout = 3
    hub = make_hub(hub_config=f"header_timeout_secs = {header_timeout}\n")
    if hub.network == "host":
        pytest.skip("host networking has no gateway listener (LTICONTAINER_E2E_NETWORK=host)")
    bob = student(hub, "bob")
    bob.launch()
    bob.wait_ready()
    bob.open_lab()
    b_api = _env(_container(hub, "bob"))["JUPYTERHUB_API_URL"]
    gw = b_api.split("//", 1)[1].split(":")[0]
    count = 48
    seen = json.loads(
        ast.literal_eval(
            bob.execute(_cell(HOLD, COUNT=count, GW=gw, PORT=hub.api_port, WAIT=header_timeout + 3, API=b_api), timeout=120)
        )
    )
    print(seen)
    assert seen["opened"] == count, seen
    # At most 32 (CONNECTIONS_PER_SERVER) are kept from one server; the rest are refused at once.
    assert seen["busy"] >= count - 32 and seen["held"] <= 32 and seen["closed_early"] == 0, seen
    assert seen["closed_at_deadline"] == seen["held"], f"idle connections outlived the header deadline: {seen}"
    assert seen["api_after"] == 200, seen
