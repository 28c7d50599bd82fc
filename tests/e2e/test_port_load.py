"""Issue 20: a class launching at once on host networking, while other programs and running
kernels hold ports, loses no student to a taken port.

With host networking every server shares the host's ports. The hub hands out ports from its range
(below the kernel's ephemeral range, where kernels bind their ZMQ ports and outgoing connections
take theirs) and skips any port a socket on the host already holds. Here a third of the hub's range
is held by listening sockets the test opens (as another service, or a kernel of an older
configuration would), two students run kernels, and eight more students launch at the same moment.
Every one must reach JupyterLab, none on a held port, and the hub must never log that a server could
not bind its port. Bounded: ten servers, one run per engine.
"""

from __future__ import annotations

import socket
import threading
from contextlib import ExitStack

from hub import engine_cli

# Students launching at the same moment, after the two that run kernels.
CLASS_SIZE = 8


def hold_port(stack: ExitStack, port: int) -> None:
    """Listens on 0.0.0.0:`port` until the stack closes (so no one else can bind it on any address)."""
    sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    sock.bind(("0.0.0.0", port))
    sock.listen(1)


def server_port(hub, user: str) -> int:
    """The port the hub gave `user`'s server, from the container's `lticontainer.port` label."""
    (cid,) = hub.containers(user)
    label = '{{index .Config.Labels "lticontainer.port"}}'
    return int(engine_cli(hub.engine, "inspect", "--format", label, cid).strip())


def test_class_at_once_skips_ports_held_on_the_host(make_hub, student):
    hub = make_hub(network="host")
    port_min, _ = hub.server_ports
    # The first 16 ports of the range: every other one held, so the lowest free ports (which the
    # allocator prefers) are interleaved with taken ones.
    held = set(range(port_min, port_min + 16, 2))
    with ExitStack() as stack:
        for port in held:
            hold_port(stack, port)

        # Two students with running kernels (each kernel holds five ZMQ ports of its own).
        early = [student(hub, f"kern{i}") for i in range(2)]
        for browser in early:
            browser.launch()
            browser.wait_ready()
            browser.open_lab()
            kernel = browser.start_kernel()
            assert browser.run(kernel, "6*7") == "42"

        # The class, released at the same moment.
        browsers = [student(hub, f"load{i:02d}") for i in range(CLASS_SIZE)]
        barrier = threading.Barrier(CLASS_SIZE)
        failures: list[str] = []

        def launch(browser) -> None:
            try:
                barrier.wait(timeout=60)
                browser.launch()
                final = browser.wait_ready()
                if final.get("ready") is not True:
                    failures.append(f"{browser.name}: {final}")
                    return
                browser.open_lab()
            except Exception as err:  # noqa: BLE001 - each student's outcome is collected
                failures.append(f"{browser.name}: {err}")

        threads = [threading.Thread(target=launch, args=(b,)) for b in browsers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=900)
        assert not any(t.is_alive() for t in threads), "a launch did not finish within 15 minutes"
        assert not failures, f"{len(failures)} of {CLASS_SIZE} students did not reach JupyterLab:\n" + "\n".join(
            failures
        ) + f"\n{hub.log_tail()}"

        # No server was given a held port, no two servers share one, and none died on a taken port.
        ports = {b.name: server_port(hub, b.name) for b in early + browsers}
        assert not held & set(ports.values()), f"servers on held ports: {ports}"
        assert len(set(ports.values())) == len(ports), f"two servers share a port: {ports}"
        log = hub.log_path.read_text(errors="replace")
        assert "is not available" not in log, f"a server could not bind its port:\n{hub.log_tail()}"

        # The kernels started first still answer.
        for browser in early:
            assert browser.execute("1+1") == "2"
