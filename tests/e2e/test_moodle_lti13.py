"""LTI 1.3 from the real Moodle 5.1 (issue 16). The hub registers itself by LTI Dynamic
Registration: the admin, in Chromium, pastes the one-use URL of `lticontainer lti13
registration-url` into Moodle's Manage tools page and presses "Add LTI Advantage"; Moodle opens it
in its registration frame (after asking whether to upgrade one of the tools of the same domain or
register a new one: new), the hub fetches Moodle's OpenID configuration, posts its registration,
keeps the platform and closes the frame. The fixture then activates the pending tool (as the
tool list's Activate button does) and makes the activity "Jupyter 1.3 registered" with the `lms_*`
custom parameters of mod_lticontainer's LTI Edit tab; a student clicks it, Moodle starts the OIDC
login at the hub, the hub sends the browser to Moodle's auth.php (binding the state to the browser
with a cookie), Moodle form-posts its signed id_token back, the hub verifies it against Moodle's
key set (`/mod/lti/certs.php`) and the student gets JupyterLab with the `lms_*` parameters
applied. A hub that does not list Moodle's deployment id refuses the login with a clear page (on
the fixture's hand-registered tool "Jupyter 1.3", fixed client id). The other refusals against
this Moodle (tampered, unknown key id, replayed, expired, wrong audience), and a rotation of
Moodle's signing key, are `test_moodle_lti13_refused.py`; the http tests with a fake platform (`crates/http/tests/lti13.rs`,
`lti13_registration.rs`) cover them and more (other algorithms, missing claims, messages).

Screenshots: `moodle-lti13-lab-<engine>.png`, `moodle-lti13-refused-<engine>.png`.
"""

from __future__ import annotations

import json
import subprocess

from hub import Hub, hub_binary
from moodle import ADMIN_TOKEN, MoodleUser, configure, lti13_config
from test_moodle import LAB_RENDERED, inside, moodle_site, people  # noqa: F401 (fixtures)


def click_lti13(person: MoodleUser, hub: Hub, activity: str = "lti13") -> None:
    """The person opens the course and clicks the 1.3 activity (`activity`: its fixture key);
    drives the window Moodle opens, once it reaches the hub."""
    b = person.browser
    known = frozenset(t["id"] for t in b.pages())
    person.open_course()
    person.click_activity(person.fixture[activity]["cmid"], "lti")
    b.attach(f"{hub.url}/", timeout=60, exclude=known)


def register_by_dynamic_registration(hub: Hub, fixture: dict, people, engine: str, artifacts) -> dict:
    """The admin registers `hub` in Moodle with the hub's one-use registration URL (Manage tools >
    Add LTI Advantage, a new tool); returns the platform the hub kept."""
    url = subprocess.run(
        [str(hub_binary()), "lti13", "registration-url", "--config", str(hub.config_path()), "--base-url", hub.url],
        check=True, capture_output=True, text=True, timeout=30).stdout.strip()
    assert url.startswith(f"{hub.url}/hub/lti13/register?secret="), url
    admin = people({**fixture, "users": {**fixture["users"], "admin": fixture["admin"]}}, "admin")
    admin.log_in()
    b = admin.browser
    b.navigate(f"{admin.url}/mod/lti/toolconfigure.php")
    b.wait_for("!!document.querySelector('#tool-url') && !!document.querySelector('#tool-create-button')", timeout=60)
    # Moodle's page JS must have bound the button: clicked earlier, it submits the form as a plain
    # GET (`toolconfigure.php?url=…`) and no registration frame opens (seen every other run).
    b.wait_for("document.readyState === 'complete' && !!window.M?.util?.pending_js && M.util.pending_js.length === 0",
               timeout=60)
    b.evaluate(f"document.querySelector('#tool-url').value = {json.dumps(url)}")
    b.evaluate("document.querySelector('#tool-create-button').click()")
    # Moodle's frame first asks whether to upgrade a tool of the hub's domain (the fixture's 1.1
    # and hand-registered 1.3 tools) or to register a new one.
    frame = "document.querySelector('#external-registration-template-container iframe')"
    new_tool = f"{frame}?.contentDocument?.querySelector('button[data-href$=\"type=0\"]')"
    b.wait_for(f"!!{new_tool}", timeout=60)
    b.evaluate(f"{new_tool}.click()")
    # The hub's page posts org.imsglobal.lti.close: Moodle empties the frame and lists the tools.
    b.wait_for(f"!{frame}", timeout=90)
    b.screenshot(artifacts / f"moodle-lti13-registered-{engine}.png")
    kept = json.loads((hub.workdir / "state" / "lti13-platforms.json").read_text())
    assert len(kept) == 1 and kept[0]["issuer"] == fixture["moodle_url"], kept
    assert "LTI 1.3 platform registered by Dynamic Registration" in hub.log_path.read_text()
    return kept[0]


def test_student_launches_by_lti13_from_moodle(make_hub, moodle_site, people, engine, artifacts):
    hub = make_hub(hub_config=f'api_token = "{ADMIN_TOKEN}"\n',
                   extra_config="\n[lti13]\ndynamic_registration = true\n")
    fixture = configure(hub)
    platform = register_by_dynamic_registration(hub, fixture, people, engine, artifacts)
    fixture = configure(hub, lms={"lms_cpulimit": "0.5", "lms_teachers": "teacher1"},
                        extra=[f"--lti13-registered-client={platform['client_id']}"])
    registered = fixture["lti13_registered"]
    assert registered["client_id"] == platform["client_id"], (registered, platform)
    assert platform["deployment_ids"] == [registered["deployment_id"]], (registered, platform)
    student = people(fixture, "student1")
    student.log_in()
    click_lti13(student, hub, "lti13_registered")
    b = student.browser
    b.wait_for(LAB_RENDERED, timeout=400)
    assert b.evaluate("location.href") == f"{hub.url}/user/student1/lab"
    b.screenshot(artifacts / f"moodle-lti13-lab-{engine}.png")

    # The lms_* parameters came in the id_token's custom claim and were applied as 1.1's are.
    env, _ = inside(hub, "student1")
    assert env["CPU_LIMIT"] == "0.5" and env["CPU"] == "50000 100000", env
    assert env["NB_TEACHER"] == "", env
    log = hub.log_path.read_text()
    assert "LTI 1.3: fetched the platform's key set" in log, log[-3000:]


def test_a_deployment_the_hub_does_not_list_is_refused(make_hub, moodle_site, people, engine, artifacts):
    hub = make_hub(extra_config=lti13_config(moodle_site, deployment_ids=["999"]))
    fixture = configure(hub)
    student = people(fixture, "student1")
    student.log_in()
    click_lti13(student, hub)
    b = student.browser
    b.wait_for("document.body.innerText.includes('could not verify that the launch came from your course site')",
               timeout=120)
    b.screenshot(artifacts / f"moodle-lti13-refused-{engine}.png")
    assert hub.containers("student1") == []
    log = hub.log_path.read_text()
    assert "LTI 1.3 launch refused" in log and "deployment id" in log, log[-3000:]
