"""LTI 1.3 refusals against the real Moodle 5.1 (issue 16): Moodle signs a real id_token for the
fixture's hand-registered tool "Jupyter 1.3" (fixed client id), and Chromium, on its way to the
hub, has it altered, replayed, held past its expiry or sent to a hub that expects another client
id. Each time the student sees the hub's clear refusal page (a screenshot), the hub's log names
the cause, and no container is made.

The student's tab opens the activity's launch page (`/mod/lti/launch.php?id=<cmid>`, what the
window Moodle opens for the activity loads) so that the tab holds the requests to change before
they leave (`Chromium.pause_requests`, CDP's `Fetch` domain): Moodle's auto-posted launch to
`/hub/lti13/launch` (`id_token` and `state`), and for the wrong audience also the login initiation
to the hub and the hub's redirect to Moodle's `auth.php`.

- tampered: a claim of the payload changed (the student made Instructor), one character of the
  signature changed → the signature does not verify; a header `kid` Moodle's key set does not
  have → the unknown kid is the cause, after the hub fetched Moodle's key set again once (its gap
  of 10 s passed); a second unknown kid at once does not make it fetch again;
- rotated key: after a refused launch made the hub keep Moodle's key set, Moodle's signing key
  is rotated (`scripts/setup-moodle.sh rotate-key`: Moodle's own key generation, a new kid); past
  the hub's 10 s gap the next launch makes it fetch the set once more and is accepted (the server
  starts). Moodle keeps the new key (any hub fetches it on its next launch, as after a real
  rotation);
- replayed: one real launch goes through (the hub takes the state and deletes its cookie), then the
  same `id_token` and `state` are posted again from the same browser with the state cookie put
  back (the state is used up) and from another browser without it (not bound to that browser);
- expired: Moodle's id_tokens live 60 s (`lti_sign_jwt`: `exp = iat + 60`); the launch is held
  past `exp` with the hub's `leeway_secs = 0`, then sent as it was (about 60 s);
- wrong audience: a hub whose platform entry for Moodle's issuer names another client id refuses
  Moodle's login (no platform with Moodle's client id); with the login's `client_id` changed to the
  hub's on its way there, and back to Moodle's on the way to `auth.php`, Moodle signs for its own
  tool and the hub refuses the token's `aud`.

They run on each engine (the `engine` parametrization): no container is made, so the engine only
answers that; the replay's first launch and the launch after the rotation start one, on either
engine. The expired token, a minute of waiting in which no engine takes part, runs on the first
engine under test only.

The tests point the Moodle's fixture at their hubs and rotate its key: while another run uses the
same Moodle, give this one a Moodle of its own (`LTICONTAINER_CACHE_DIR`, `LTICONTAINER_MOODLE_PORT`:
README).

Screenshots: `moodle-lti13-<refusal>-<engine>.png`.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.parse

import pytest

from cdp import Chromium
from conftest import ENGINES
from hub import Hub
from moodle import MoodleUser, configure, lti13_config, rotate_signing_key
from test_moodle import moodle_site, people  # noqa: F401 (fixtures)

# The hub's student pages (`Lti13Error::student_message`).
NOT_VERIFIED = "could not verify that the launch came from your course site"
USED_UP = "This launch has expired or was already used"
NO_COOKIE = "Your browser did not keep this server's sign-in cookie"
# The hub's log line when it fetched a platform's key set.
KEY_SET_FETCHED = "LTI 1.3: fetched the platform's key set"
# The hub fetches a key set again for an unknown kid at most once per this many seconds
# (`lticontainer_hub::lti13::REFETCH_GAP`).
REFETCH_GAP = 10
# Moodle's roles claim and the role the tampered token claims.
ROLES = "https://purl.imsglobal.org/spec/lti/claim/roles"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token_part(token: str, index: int) -> dict:
    """The JSON of the token's header (0) or payload (1)."""
    return json.loads(_unb64(token.split(".")[index]))


def with_part(token: str, index: int, **changes) -> str:
    """The token with its header (0) or payload (1) changed by `changes`, its signature kept."""
    parts = token.split(".")
    parts[index] = _b64(json.dumps({**token_part(token, index), **changes}).encode())
    return ".".join(parts)


def with_signature_changed(token: str) -> str:
    """The token with one character in the middle of its signature changed."""
    head, payload, sig = token.split(".")
    i = len(sig) // 2
    return f"{head}.{payload}.{sig[:i]}{'B' if sig[i] == 'A' else 'A'}{sig[i + 1:]}"


def form_fields(post_data: str) -> dict[str, str]:
    """The fields of a form-encoded body."""
    return dict(urllib.parse.parse_qsl(post_data, keep_blank_values=True))


def held_launch(person: MoodleUser, hub: Hub) -> dict:
    """The logged-in person opens the 1.3 activity's launch page in their tab; Moodle's form goes
    through the hub's login and Moodle's `auth.php`, and its auto-posted launch to the hub is held
    (returned: `next_paused_request`'s event, `request.postData` the form with the id_token); the
    tab goes on holding requests to the hub's launch until `stop_pausing`."""
    b = person.browser
    b.pause_requests(f"{hub.url}/hub/lti13/launch*")
    b.navigate(f"{person.url}/mod/lti/launch.php?id={person.fixture['lti13']['cmid']}")
    held = b.next_paused_request(timeout=60)
    fields = form_fields(held["request"]["postData"])
    assert held["request"]["method"] == "POST" and fields.get("id_token") and fields.get("state"), held["request"]
    return held


def student_of(make_hub, site: dict, people, **config) -> tuple[Hub, MoodleUser]:
    """A hub with the `[lti13]` table of `lti13_config(site, **config)`, Moodle's fixture pointed at
    it, and student1 logged in to Moodle in their own Chromium."""
    hub = make_hub(extra_config=lti13_config(site, **config))
    student = people(configure(hub), "student1")
    student.log_in()
    return hub, student


def launch_altered(student: MoodleUser, hub: Hub, alter) -> str:
    """A launch whose id_token `alter` (a function of the token) changes on its way to the hub;
    returns the token Moodle signed."""
    held = held_launch(student, hub)
    fields = form_fields(held["request"]["postData"])
    student.browser.continue_request(
        held, post_data=urllib.parse.urlencode({**fields, "id_token": alter(fields["id_token"])}))
    return fields["id_token"]


def refusals(hub: Hub) -> list[str]:
    """The hub's log lines of refused LTI 1.3 logins and launches."""
    return [line for line in hub.log_path.read_text().splitlines() if "LTI 1.3 launch refused" in line]


def assert_refused(b: Chromium, hub: Hub, page: str, cause: str, before: int, shot) -> None:
    """The browser shows the student's `page` (saved to `shot`), the hub logged one more refusal
    (`before`: how many it had) naming `cause`, and the student has no container."""
    b.wait_for(f"document.body.innerText.includes({json.dumps(page)})", timeout=60)
    b.screenshot(shot)
    lines = refusals(hub)
    assert len(lines) == before + 1 and cause in lines[-1], (cause, lines)
    assert hub.containers("student1") == []


def post_form(b: Chromium, action: str, fields: dict[str, str]) -> None:
    """The page posts `fields` to `action` as a form of its own."""
    b.evaluate(
        "(() => { const f = document.createElement('form'); f.method = 'post'; "
        f"f.action = {json.dumps(action)}; "
        f"for (const [k, v] of Object.entries({json.dumps(fields)})) {{ "
        "const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i); } "
        "document.body.appendChild(f); f.submit(); })()"
    )


def test_tampered_tokens_and_an_unknown_key_are_refused(make_hub, moodle_site, people, engine, artifacts):
    hub, student = student_of(make_hub, moodle_site, people)
    b = student.browser

    def as_instructor(token: str) -> str:
        return with_part(token, 1, **{ROLES: [*token_part(token, 1)[ROLES], INSTRUCTOR]})

    token = launch_altered(student, hub, as_instructor)
    assert INSTRUCTOR not in token_part(token, 1)[ROLES], token_part(token, 1)
    kid = token_part(token, 0)["kid"]
    assert_refused(b, hub, NOT_VERIFIED, f'signature does not verify with key "{kid}"', 0,
                   artifacts / f"moodle-lti13-tampered-{engine}.png")
    fetched_at = time.monotonic()
    assert hub.log_path.read_text().count(KEY_SET_FETCHED) == 1

    launch_altered(student, hub, with_signature_changed)
    assert_refused(b, hub, NOT_VERIFIED, "signature does not verify", 1,
                   artifacts / f"moodle-lti13-bad-signature-{engine}.png")

    # An unknown kid makes the hub fetch Moodle's key set again, once its gap since the last
    # fetch has passed; the kid is then the cause (checked before the signature).
    time.sleep(max(0.0, fetched_at + REFETCH_GAP + 1 - time.monotonic()))
    for n, unknown in enumerate(["e2e-no-such-key", "e2e-no-such-key-either"]):
        launch_altered(student, hub, lambda t, kid=unknown: with_part(t, 0, kid=kid))
        assert_refused(b, hub, NOT_VERIFIED, f'signed with key id "{unknown}", which the platform\'s key set does not hold',
                       2 + n, artifacts / f"moodle-lti13-unknown-kid-{engine}.png")
        # Fetched again for the first unknown kid; not for the second, within the gap.
        assert hub.log_path.read_text().count(KEY_SET_FETCHED) == 2


def wait_until_launched(b: Chromium, hub: Hub) -> None:
    """Waits until the hub accepted student1's launch: the browser is on the spawn page or the
    server."""
    b.wait_for(f"location.href.startsWith({json.dumps(hub.url + '/hub/spawn-pending/student1')}) || "
               f"location.href.startsWith({json.dumps(hub.url + '/user/student1/')})", timeout=120)


def test_a_rotated_moodle_key_is_fetched_once_and_accepted(make_hub, moodle_site, people, engine, artifacts):
    hub, student = student_of(make_hub, moodle_site, people)
    b = student.browser
    # A first launch (its signature changed, refused) makes the hub fetch and keep Moodle's key set.
    old_kid = token_part(launch_altered(student, hub, with_signature_changed), 0)["kid"]
    assert_refused(b, hub, NOT_VERIFIED, "signature does not verify", 0,
                   artifacts / f"moodle-lti13-before-rotation-{engine}.png")
    fetched_at = time.monotonic()

    # Moodle's key is rotated: it signs with a kid the hub's kept set lacks; past the hub's gap,
    # the launch makes it fetch the set once more, and the launch goes through.
    kid = rotate_signing_key()
    assert kid != old_kid
    time.sleep(max(0.0, fetched_at + REFETCH_GAP + 1 - time.monotonic()))
    held = held_launch(student, hub)
    assert token_part(form_fields(held["request"]["postData"])["id_token"], 0)["kid"] == kid
    b.continue_request(held)
    b.stop_pausing()
    wait_until_launched(b, hub)
    assert len(refusals(hub)) == 1, refusals(hub)
    assert hub.log_path.read_text().count(KEY_SET_FETCHED) == 2


def test_a_replayed_launch_is_refused(make_hub, moodle_site, people, engine, artifacts):
    hub, student = student_of(make_hub, moodle_site, people)
    b = student.browser
    held = held_launch(student, hub)
    fields = form_fields(held["request"]["postData"])
    launch_url = f"{hub.url}/hub/lti13/launch"
    # Cookies are the host's, whatever the port: Moodle's are there too.
    hub_cookies = lambda: [c for c in b.cookies(launch_url) if c["path"] == "/hub/lti13/"]  # noqa: E731
    state_cookies = hub_cookies()
    assert len(state_cookies) == 1, b.cookies(launch_url)
    b.continue_request(held)
    b.stop_pausing()
    wait_until_launched(b, hub)
    assert hub_cookies() == [], "the launch deletes its state cookie"
    assert refusals(hub) == []

    # The same browser, its state cookie put back, posts the same launch from Moodle's site.
    b.navigate(f"{student.url}/my/courses.php")
    b.wait_for("document.readyState === 'complete' && location.pathname === '/my/courses.php'", timeout=60)
    for c in state_cookies:
        b.call("Network.setCookie", name=c["name"], value=c["value"], url=f"{hub.url}{c['path']}", path=c["path"],
               httpOnly=c["httpOnly"], sameSite=c.get("sameSite", "Lax"))
    assert len(hub_cookies()) == 1
    post_form(b, launch_url, fields)
    b.wait_for(f"location.href === {json.dumps(launch_url)} && document.body.innerText.includes({json.dumps(USED_UP)})",
               timeout=60)
    b.screenshot(artifacts / f"moodle-lti13-replayed-{engine}.png")
    assert "state is unknown, expired or already used" in refusals(hub)[-1], refusals(hub)

    # Another browser, without the cookie, posts it too.
    other = people(student.fixture, "student2").browser
    other.navigate(f"{student.url}/login/index.php")
    other.wait_for("document.readyState === 'complete' && !!document.body", timeout=60)
    post_form(other, launch_url, fields)
    other.wait_for(f"document.body.innerText.includes({json.dumps(NO_COOKIE)})", timeout=60)
    other.screenshot(artifacts / f"moodle-lti13-replayed-elsewhere-{engine}.png")
    lines = refusals(hub)
    assert len(lines) == 2 and "without the state cookie" in lines[-1], lines
    # Only the first launch's server.
    assert len(hub.containers()) == 1, hub.containers()


# A minute of waiting that no engine takes part in: on the first engine under test only.
@pytest.mark.parametrize("engine", ENGINES[:1], indirect=True)
def test_an_expired_token_is_refused(make_hub, moodle_site, people, engine, artifacts):
    hub, student = student_of(make_hub, moodle_site, people, settings="leeway_secs = 0\n")
    held = held_launch(student, hub)
    claims = token_part(form_fields(held["request"]["postData"])["id_token"], 1)
    assert claims["exp"] - claims["iat"] == 60, claims
    # Held until the hub's clock (this machine's) is past `exp`.
    time.sleep(max(0.0, claims["exp"] + 1 - time.time()))
    student.browser.continue_request(held)
    assert_refused(student.browser, hub, USED_UP, f"the id_token expired at {claims['exp']}", 0,
                   artifacts / f"moodle-lti13-expired-{engine}.png")


def test_a_token_for_another_client_id_is_refused(make_hub, moodle_site, people, engine, artifacts):
    own = moodle_site["lti13"]["client_id"]
    other = "lticontainer-e2e-another-tool"
    hub, student = student_of(make_hub, moodle_site, people, client_id=other)
    b = student.browser
    launch_page = f"{student.url}/mod/lti/launch.php?id={student.fixture['lti13']['cmid']}"

    # As set up: Moodle's login names its own client id, which the hub does not list.
    b.navigate(launch_page)
    assert_refused(b, hub, NOT_VERIFIED, f'client id "{own}"', 0,
                   artifacts / f"moodle-lti13-unknown-client-{engine}.png")

    # The login made to name the hub's client id, Moodle's auth request its own again: Moodle
    # signs the token for its tool, whose audience is not the hub's client id.
    b.pause_requests(f"{hub.url}/hub/lti13/login*", f"{student.url}/mod/lti/auth.php*")
    b.navigate(launch_page)
    login = b.next_paused_request(timeout=60)
    fields = form_fields(login["request"]["postData"])
    assert fields["client_id"] == own, fields
    b.continue_request(login, post_data=urllib.parse.urlencode({**fields, "client_id": other}))
    auth = b.next_paused_request(timeout=60)
    url = urllib.parse.urlsplit(auth["request"]["url"])
    query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
    assert url.path == "/mod/lti/auth.php" and query["client_id"] == other, auth["request"]["url"]
    b.continue_request(auth, url=url._replace(query=urllib.parse.urlencode({**query, "client_id": own})).geturl())
    b.stop_pausing()
    assert_refused(b, hub, NOT_VERIFIED, f'aud is "{own}", expected "{other}"', 1,
                   artifacts / f"moodle-lti13-wrong-audience-{engine}.png")
