"""Issue 14: `lticontainer`'s admin subcommands against the running hub on a real engine.

`users`, `user`, `stop` and `cull` read the hub's configuration (its address and `[hub]
api_token`) and go through the admin REST API: a student's running server is listed and shown,
`stop` removes its container (files kept), `cull` stops a server past its activity limit at
once (the culler's own round is an hour away), and a wrong token is refused with the reason.
"""

from __future__ import annotations

import json
import subprocess
import time

from hub import hub_binary

TOKEN = "e2e-admin-cli-token-0123"


def admin(hub, *args: str, token: str | None = None) -> subprocess.CompletedProcess:
    cmd = [str(hub_binary()), *args, "--config", str(hub.config_path())]
    if token is not None:
        cmd += ["--token", token]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_admin_subcommands_list_show_stop_and_cull(make_hub, student, consumer):
    hub = make_hub(hub_config=f'api_token = "{TOKEN}"\ncull_every_secs = 3600\n')
    vera = student(hub, "vera")
    vera.launch()
    vera.wait_ready()
    vera.open_lab()
    walt = student(hub, "walt")
    walt.consumer.custom = {**walt.consumer.custom, "lms_actlimit": "20"}
    walt.launch()
    walt.wait_ready()

    out = admin(hub, "users")
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line.split()[1] for line in out.stdout.splitlines()[1:-1]}
    assert rows == {"vera": "running", "walt": "running"}, out.stdout
    assert out.stdout.splitlines()[-1] == "2 users"
    shown = json.loads(admin(hub, "user", "vera", "--json").stdout)
    assert shown["servers"][""]["ready"] is True, shown
    assert shown["name"] == "vera" and shown["server"] == "/user/vera/", shown

    out = admin(hub, "stop", "vera")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "vera: server stopped (files kept)\n"
    assert hub.containers("vera") == []
    assert "server:        stopped" in admin(hub, "user", "vera").stdout

    # walt's limit passes; `cull` stops him now, not at the culler's next round.
    deadline = time.monotonic() + 60
    while True:
        out = admin(hub, "cull")
        assert out.returncode == 0, out.stderr
        if out.stdout != "no server over a limit\n":
            break
        assert time.monotonic() < deadline, f"walt was never over his limit\n{hub.log_tail()}"
        time.sleep(3)
    assert out.stdout == "walt: stopped (act_limit)\n", out.stdout
    assert hub.containers("walt") == []

    out = admin(hub, "users", token="not-the-admin-token")
    assert out.returncode == 1
    assert "refused the admin token (403)" in out.stderr, out.stderr
