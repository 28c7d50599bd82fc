"""(c) A student cannot reach another student's server: 403 on pages, API and kernel WebSocket."""

from __future__ import annotations

import http.client
import uuid

import websocket

from hub import engine_cli


def test_student_cannot_reach_another_students_server(hub, student):
    alice, bob = student(hub, "alice"), student(hub, "bob")
    alice.launch()
    alice.wait_ready()
    alice.open_lab()
    bob.launch()  # bob has a valid hub session (his own spawn runs in the background)

    for path in ("/user/alice/lab", "/user/alice/api/kernels", "/user/alice/api/contents"):
        r = bob.session.get(f"{hub.url}{path}", allow_redirects=False, timeout=30)
        assert r.status_code == 403, f"bob GET {path} answered {r.status_code}: {r.text[:300]}"

    r = bob.session.post(f"{hub.url}/user/alice/api/kernels", json={"name": "python3"}, timeout=30)
    assert r.status_code == 403, f"bob POST alice's kernels answered {r.status_code}"

    kernel = alice.api("POST", "kernels", json={"name": "python3"}).json()["id"]
    try:
        path = f"/user/alice/api/kernels/{kernel}/channels"
        try:
            ws = websocket.create_connection(
                f"ws://127.0.0.1:{hub.port}{path}",
                header=[f"Cookie: {bob.cookie_header(hub.url + path)}"],
                origin=hub.url,
                timeout=30,
            )
            ws.close()
            raise AssertionError("bob opened alice's kernel WebSocket")
        except websocket.WebSocketBadStatusException as e:
            assert e.status_code == 403, f"bob's WebSocket upgrade answered {e.status_code}"
    finally:
        alice.api("DELETE", f"kernels/{kernel}")

    # Without any session: not the server either (a login/launch page or 401/403, never a proxy hit).
    r = student(hub, "nobody").session.get(f"{hub.url}/user/alice/api/kernels", allow_redirects=False, timeout=30)
    assert r.status_code in (302, 303, 401, 403), r.status_code
    # Alice still works.
    assert alice.execute("1+1") == "2"


def _raw_get(hub, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
    """GET `path` exactly as written (no client-side normalisation of `..`, `//` or escapes)."""
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", f"127.0.0.1:{hub.port}")
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode(errors="replace")
    finally:
        conn.close()


def _normalise(location: str) -> str:
    """What a browser makes of a redirect's path: `.` and `..` segments resolved."""
    path, _, query = location.partition("?")
    out: list[str] = []
    for seg in path.split("/")[1:]:
        if seg == "..":
            if out:
                out.pop()
        elif seg != ".":
            out.append(seg)
    return "/" + "/".join(out) + (f"?{query}" if query else "")


def test_no_path_trick_or_own_token_reaches_another_students_files(hub, student):
    """Bob, signed in with his own running server, tries every spelling of Alice's contents API he
    can think of, and his own server's API token: none lists Alice's files."""
    alice, bob = student(hub, "alice"), student(hub, "bob")
    for b in (alice, bob):
        b.launch()
        b.wait_ready()
        b.open_lab()
    secret = f"alice-secret-{uuid.uuid4().hex[:8]}.txt"
    r = alice.api("PUT", f"contents/{secret}", json={"type": "file", "format": "text", "content": "x"})
    assert r.status_code in (200, 201), r.status_code
    assert secret in alice.api("GET", "contents").text

    # The raw requests work: Alice's own gets her listing, Bob's own gets his.
    mine = {"Cookie": alice.cookie_header(f"{hub.url}/user/alice/api/contents")}
    status, _, body = _raw_get(hub, "/user/alice/api/contents", mine)
    assert status == 200 and secret in body, (status, body[:300])
    cookies = {"Cookie": bob.cookie_header(f"{hub.url}/user/bob/api/contents")}
    status, _, body = _raw_get(hub, "/user/bob/api/contents", cookies)
    assert status == 200 and secret not in body, (status, body[:300])
    tricks = [
        "/user/ALICE/api/contents",
        "/user/Alice/api/contents",
        "/user/%61lice/api/contents",
        "/user/alice%2Fapi/contents",
        "/user/bob/../alice/api/contents",
        "/user/bob/%2e%2e/alice/api/contents",
        "/user/bob/..%2Falice/api/contents",
        "//user/alice/api/contents",
        "/user//alice/api/contents",
        "/user/./alice/api/contents",
        "/hub/user-redirect/../../user/alice/api/contents",
        "/hub/../user/alice/api/contents",
    ]
    for path in tricks:
        status, headers, body = _raw_get(hub, path, cookies)
        assert secret not in body, f"bob's {path} ({status}) listed alice's files"
        if 300 <= status < 400 and "location" in headers:
            nxt = _normalise(headers["location"])
            status2, _, body2 = _raw_get(hub, nxt, cookies)
            assert secret not in body2, f"bob's {path} -> {nxt} ({status2}) listed alice's files"

    # Bob's own server's API token (from his container, as code in his notebook reads it).
    containers = hub.containers("bob")
    assert len(containers) == 1, containers
    token = engine_cli(hub.engine, "exec", containers[0], "printenv", "JUPYTERHUB_API_TOKEN").strip()
    assert len(token) >= 32
    for path in ("/user/alice/api/contents", "/user/alice/api/kernels"):
        status, _, body = _raw_get(hub, path, {"Authorization": f"token {token}"})
        assert secret not in body and status >= 400, f"bob's server token on {path}: {status} {body[:200]}"
    # His own server still takes it.
    status, _, body = _raw_get(hub, "/user/bob/api/contents", {"Authorization": f"token {token}"})
    assert status == 200 and secret not in body, (status, body[:300])
