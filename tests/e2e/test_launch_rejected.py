"""(b) Launches that must be refused: 401, no hub session, and no container spawned."""

from __future__ import annotations

import time

import pytest

from hub import Hub


def assert_refused(hub: Hub, browser, response, status: int = 401) -> None:
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text[:300]}"
    assert "text/html" in response.headers.get("Content-Type", ""), "a student should get a page, not raw text"
    time.sleep(1.0)  # a wrongly accepted launch would start its spawn in the background by now
    assert hub.containers(browser.name) == [], f"a refused launch spawned {hub.containers(browser.name)}"
    # No session either: the user's API and server stay closed to this browser.
    r = browser.session.get(f"{hub.url}/user/{browser.name}/lab", allow_redirects=False, timeout=10)
    assert r.status_code in (302, 303, 401, 403), f"/user/{browser.name}/lab answered {r.status_code} after refusal"
    assert "/user/" not in r.headers.get("Location", "/hub/"), r.headers.get("Location")


@pytest.mark.parametrize(
    "field,value",
    [
        ("ext_user_username", "mallory"),  # who the launch is for
        ("custom_lms_image", "evil/image:latest"),  # what it runs
        ("oauth_timestamp", None),  # when it was signed (shifted by one second below)
        ("oauth_signature", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    ],
)
def test_tampered_launch_is_refused(hub, student, field, value):
    carol = student(hub, "carol")
    fields = carol.consumer.sign(carol.student)
    fields[field] = value if value is not None else str(int(fields[field]) + 1)
    if field == "ext_user_username":
        carol.student.username = value
    assert_refused(hub, carol, carol.post_launch(fields))


def test_replayed_launch_is_refused(hub, student):
    dave = student(hub, "dave")
    fields = dave.consumer.sign(dave.student)
    first = dave.post_launch(fields)
    assert first.status_code in (302, 303), f"the original launch failed: {first.status_code} {first.text[:300]}"
    dave.wait_ready()
    containers = hub.containers("dave")
    assert len(containers) == 1

    replay = student(hub, "dave")  # the attacker: a fresh browser, the captured form
    r = replay.post_launch(fields)
    assert r.status_code == 401, f"replay answered {r.status_code}: {r.text[:300]}"
    assert "set-cookie" not in {k.lower() for k in r.headers}, "a replay must not get a session"
    assert hub.containers("dave") == containers


@pytest.mark.parametrize("skew", [-3600, +3600])
def test_stale_or_future_launch_is_refused(hub, student, skew):
    erin = student(hub, "erin")
    fields = erin.consumer.sign(erin.student, timestamp=int(time.time()) + skew)
    assert_refused(hub, erin, erin.post_launch(fields))


def test_unknown_consumer_key_is_refused(hub, student):
    frank = student(hub, "frank")
    frank.consumer.key = "not-a-configured-key"
    assert_refused(hub, frank, frank.post_launch())


def test_wrong_secret_is_refused(hub, student):
    grace = student(hub, "grace")
    grace.consumer.secret = "guessed-secret"
    assert_refused(hub, grace, grace.post_launch())


def test_unsigned_launch_is_refused(hub, student):
    heidi = student(hub, "heidi")
    fields = heidi.consumer.launch_params(heidi.student)
    r = heidi.post_launch(fields)
    # ltiauthenticator answers 400 for missing oauth_* arguments; 401 is as good. Never a session.
    assert_refused(hub, heidi, r, status=r.status_code if r.status_code in (400, 401) else 401)
