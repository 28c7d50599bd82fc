"""Issue 14: `/hub/metrics` scraped from a real hub after a real launch, a refused launch and a
kernel run over the proxied WebSocket; the numbers checked against what happened; the log in
JSON lines (`[hub] log_format = "json"`) with one line per launch and per spawn."""

from __future__ import annotations

import json

import requests

ADMIN_TOKEN = "e2e-metrics-token-0123456789"


def scrape(hub, token: str | None = ADMIN_TOKEN) -> requests.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.get(f"{hub.url}/hub/metrics", headers=headers, timeout=30)


def samples(text: str) -> dict[str, float]:
    """`name{labels}` -> value, for every sample line of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def test_metrics_after_a_real_launch_and_json_logs(make_hub, student):
    hub = make_hub(hub_config=f'api_token = "{ADMIN_TOKEN}"\nlog_format = "json"\n')
    assert scrape(hub, token=None).status_code == 403
    assert scrape(hub, token="not-the-admin-token-0123").status_code == 403

    alice = student(hub, "alice")
    alice.launch()
    alice.wait_ready()
    alice.open_lab()
    assert alice.execute("1+1") == "2"
    # A launch with a bad signature is refused.
    forged = {**alice.consumer.sign(alice.student), "oauth_signature": "forged"}
    bad = requests.post(hub.launch_url, data=forged, allow_redirects=False, timeout=30)
    assert 400 <= bad.status_code < 500, bad.status_code

    r = scrape(hub)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    m = samples(r.text)
    assert m['jupyterhub_server_spawn_duration_seconds_count{status="success"}'] == 1
    assert m['jupyterhub_server_spawn_duration_seconds_count{status="failure"}'] == 0
    spawn_secs = m['jupyterhub_server_spawn_duration_seconds_sum{status="success"}']
    assert 0 < spawn_secs < 400, spawn_secs
    assert m["jupyterhub_running_servers"] == 1
    assert m["jupyterhub_total_users"] == 1
    assert m['lticontainer_launches_total{outcome="accepted"}'] == 1
    assert m['lticontainer_launches_total{outcome="refused"}'] == 1
    # The kernel's channels: one WebSocket; the lab page, its OAuth return and the kernel calls
    # are proxied requests too.
    assert m["lticontainer_proxy_websocket_connections_total"] == 1
    assert m["lticontainer_proxy_requests_total"] >= 4
    assert m['lticontainer_errors_total{kind="spawn"}'] == 0
    # Analytics are on by default, so their counters are there (this launch names no LMS to
    # deliver to, so nothing was captured).
    assert m["lticontainer_analytics_captured_total"] == 0

    # Every log line is a JSON object; one for the launch and one for the spawn, with outcome
    # and duration.
    events = []
    for line in hub.log_path.read_text().splitlines():
        if line.startswith("=====") or not line.strip():
            continue
        events.append(json.loads(line))
    launches = [e for e in events if e.get("message") == "LTI launch accepted"]
    spawns = [e for e in events if e.get("message") == "spawn ended"]
    assert len(launches) == 1 and launches[0]["outcome"] == "accepted" and launches[0]["user"] == "alice", launches
    assert len(spawns) == 1 and spawns[0]["outcome"] == "ready" and spawns[0]["secs"] > 0, spawns
    assert any(e.get("message") == "LTI launch refused" for e in events), [e.get("message") for e in events]
