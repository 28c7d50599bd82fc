"""Issue 14: students in control of their own server, on the real hub with real Jupyter servers.

* In headless Chromium: JupyterLab, then the hub's home page — stop, start, restart — and the log
  out JupyterLab's menu makes (a navigation to /hub/logout from the server's own origin); a page
  on another origin that posts the stop form or links the logout gets nothing done.
* `shutdown_on_logout`: logging out stops the server; the student's files are kept.
* The admin API (mod_lticontainer's delete click) cancels a start under way: 204, no container
  left, and the student can start again at once.
"""

from __future__ import annotations

import time

import requests

from cdp import Chromium, LaunchPage
from lti_consumer import Student
from test_browser import LAB_RENDERED

ADMIN_TOKEN = "e2e-admin-token-0123456789"


def home_state(state: str) -> str:
    return (
        "location.pathname === '/hub/home' && "
        f"document.querySelector('#status') && document.querySelector('#status').dataset.state === '{state}'"
    )


def attacker_page(hub_url: str, user: str) -> str:
    """A page on another origin: a form that posts the stop button's request, without the token
    (at once, unless the URL has a fragment), and a link to the hub's logout."""
    return f"""<!DOCTYPE html><html><body>
<form id="f" method="post" action="{hub_url}/hub/stop/{user}"><input name="x" value="1"></form>
<a id="logout" href="{hub_url}/hub/logout">log out</a>
<script>if (!location.hash) document.getElementById('f').submit();</script></body></html>"""


def test_student_stops_starts_restarts_and_logs_out_in_chromium(hub, consumer, engine, tmp_path, artifacts):
    user = "paula"
    moodle = consumer(hub)
    site = LaunchPage(tmp_path / "moodle", moodle.form_html(moodle.sign(Student(user, user_id="5151"))))
    evil = LaunchPage(tmp_path / "evil", attacker_page(hub.url, user))
    browser = Chromium(tmp_path / "chromium-profile", artifacts / f"chromium-home-{engine}.log")
    try:
        browser.navigate(site.url)
        browser.wait_for(LAB_RENDERED, timeout=400)
        first = hub.containers(user, running_only=True)
        assert len(first) == 1, first

        # Another origin posts the stop form with the student's cookie: refused, server kept.
        browser.navigate(evil.url)
        browser.wait_for("document.body && document.body.innerText.includes('not sent from your hub page')", timeout=30)
        assert hub.containers(user, running_only=True) == first

        # The home page shows the running server; Stop removes it.
        browser.navigate(f"{hub.url}/hub/home")
        browser.wait_for(home_state("running"), timeout=30)
        assert browser.evaluate("document.querySelector('#open').getAttribute('href')") == f"/user/{user}/lab"
        browser.evaluate("document.querySelector('#stop button').click()")
        browser.wait_for(home_state("stopped"), timeout=120)
        assert hub.containers(user) == []

        # Start: the progress page, then JupyterLab again.
        browser.evaluate("document.querySelector('#start button').click()")
        browser.wait_for(LAB_RENDERED, timeout=400)
        second = hub.containers(user, running_only=True)
        assert len(second) == 1 and second != first, (first, second)

        # Restart: a new container, JupyterLab again.
        browser.navigate(f"{hub.url}/hub/home")
        browser.wait_for(home_state("running"), timeout=30)
        browser.evaluate("document.querySelector('#restart button').click()")
        browser.wait_for(LAB_RENDERED, timeout=400)
        third = hub.containers(user, running_only=True)
        assert len(third) == 1 and third != second, (second, third)

        # A logout link on another origin only asks; the session stays.
        browser.navigate(evil.url + "#links")
        browser.wait_for("!!document.getElementById('logout')", timeout=30)
        browser.evaluate("document.getElementById('logout').click()")
        browser.wait_for("location.pathname === '/hub/logout' && !!document.querySelector('form#logout')", timeout=30)
        assert any(c["name"] == "lticontainer-session" for c in browser.cookies(hub.url))

        # JupyterLab's "Log Out": a navigation from the server's page to /hub/logout.
        browser.navigate(f"{hub.url}/user/{user}/lab")
        browser.wait_for(LAB_RENDERED, timeout=120)
        browser.evaluate(f"window.location.href = '{hub.url}/hub/logout'")
        browser.wait_for("document.title === 'You are logged out'", timeout=30)
        assert not any(c["name"] == "lticontainer-session" for c in browser.cookies(hub.url))
        assert hub.containers(user, running_only=True) == third, "shutdown_on_logout is off by default"
        browser.navigate(f"{hub.url}/user/{user}/lab")
        browser.wait_for("document.title === 'Please start from your course'", timeout=30)
        browser.screenshot(artifacts / f"logged-out-{engine}.png")
    finally:
        browser.close()
        site.close()
        evil.close()


def test_shutdown_on_logout_stops_the_server_and_keeps_the_files(make_hub, student):
    hub = make_hub(hub_config="shutdown_on_logout = true\n")
    b = student(hub, "quentin")
    b.launch()
    b.wait_ready()
    b.open_lab()
    r = b.api("PUT", "contents/kept.txt", json={"type": "file", "format": "text", "content": "still here"})
    assert r.status_code in (200, 201), r.text
    r = b.session.get(f"{hub.url}/hub/logout", headers={"Sec-Fetch-Site": "same-origin"}, timeout=120)
    assert r.status_code == 200 and "You are logged out" in r.text, r.text[:500]
    assert hub.containers("quentin") == []
    assert b.session.get(f"{hub.url}/hub/home", allow_redirects=False, timeout=10).status_code == 401
    b.launch()
    b.wait_ready()
    b.open_lab()
    r = b.api("GET", "contents/kept.txt")
    assert r.status_code == 200 and r.json()["content"] == "still here", r.text


def test_the_admin_api_cancels_a_start_under_way(make_hub, student):
    hub = make_hub(hub_config=f'api_token = "{ADMIN_TOKEN}"\n')
    admin = {"Authorization": f"token {ADMIN_TOKEN}"}
    b = student(hub, "rosa")
    b.post_launch()
    deadline = time.monotonic() + 60
    while True:
        model = requests.get(f"{hub.url}/hub/api/users/rosa", headers=admin, timeout=10).json()
        if model["pending"] == "spawn":
            break
        assert time.monotonic() < deadline, model
        time.sleep(0.05)
    r = requests.delete(f"{hub.url}/hub/api/users/rosa/server", headers=admin, timeout=60)
    assert r.status_code == 204, (r.status_code, r.text)
    events = b.progress_events(timeout=30)
    assert events[-1].get("failed") and "cancelled" in events[-1]["message"], events[-1]
    assert hub.containers("rosa") == []
    model = requests.get(f"{hub.url}/hub/api/users/rosa", headers=admin, timeout=10).json()
    assert model["pending"] is None and model["servers"] == {}, model
    assert "spawn cancelled" in hub.log_tail(200)
    # Starting again works at once.
    b.launch()
    b.wait_ready()
    b.open_lab()
