"""The hub serving HTTPS itself ([hub] ssl_cert / ssl_key) with a certificate made in the test:
a student launches over https to JupyterLab and runs a cell over wss through the hub's proxy, the
session cookie is Secure, plain http gets no page, and SIGHUP makes new connections get a newly
issued certificate."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import time

import pytest
import requests


def presented_certificate(hub) -> bytes:
    """The DER certificate the hub presents to a new connection (verified against the test CA)."""
    context = ssl.create_default_context(cafile=str(hub.ca_file))
    with socket.create_connection(("127.0.0.1", hub.port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return tls.getpeercert(binary_form=True)


def certificate_file_der(hub) -> bytes:
    return ssl.PEM_cert_to_DER_cert((hub.workdir / "tls" / "cert.pem").read_text())


def wait_for_log(hub, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in hub.log_path.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise AssertionError(f"no {text!r} in the hub's log:\n{hub.log_tail()}")


def test_https_launch_to_jupyterlab_and_reload_on_sighup(make_hub, student):
    hub = make_hub(tls=True)
    assert hub.url.startswith("https://")

    alice = student(hub, "alice")
    landed = alice.launch()
    assert landed == f"{hub.url}/hub/spawn-pending/alice", landed
    final = alice.progress_events()[-1]
    assert final.get("ready") is True, final
    lab = alice.open_lab()
    assert lab.url == f"{hub.url}/user/alice/lab", lab.url
    assert alice.execute("1+1") == "2"
    session = [c for c in alice.session.cookies if c.name == "lticontainer-session"]
    assert session and all(c.secure for c in session), [(c.name, c.path, c.secure) for c in alice.session.cookies]

    # Plain http on the https port gets no page.
    with pytest.raises(requests.RequestException):
        requests.get(f"http://127.0.0.1:{hub.port}/hub/api/", timeout=10).raise_for_status()

    before = presented_certificate(hub)
    assert before == certificate_file_der(hub)
    hub.issue_certificate()
    after = certificate_file_der(hub)
    assert after != before
    os.kill(hub.proc.pid, signal.SIGHUP)
    wait_for_log(hub, "TLS certificate and key reloaded")
    assert presented_certificate(hub) == after
    # The student's server kept running through the reload.
    assert alice.execute("2+3") == "5"
