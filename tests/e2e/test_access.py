"""(c) A student cannot reach another student's server: 403 on pages, API and kernel WebSocket."""

from __future__ import annotations

import websocket


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
