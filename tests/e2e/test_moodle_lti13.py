"""LTI 1.3 from the real Moodle 5.1 (issue 16): the fixture registers the hub as an LTI 1.3
external tool ("Jupyter 1.3": client id, initiate login URL, redirection URI, the `lms_*` custom
parameters of mod_lticontainer's LTI Edit tab); a student clicks it in Chromium, Moodle starts the
OIDC login at the hub, the hub sends the browser to Moodle's auth.php, Moodle form-posts its signed
id_token back, the hub verifies it against Moodle's key set (`/mod/lti/certs.php`) and the student
gets JupyterLab with the `lms_*` parameters applied. A hub that does not list Moodle's deployment
id refuses the login with a clear page. The other refusals (tampered, wrong audience, expired,
replayed nonce, unknown key id) are the http tests with a fake platform
(`crates/http/tests/lti13.rs`).

The tool is registered by the fixture, not by LTI Dynamic Registration (the hub has no
registration endpoint yet).

Screenshots: `moodle-lti13-lab-<engine>.png`, `moodle-lti13-refused-<engine>.png`.
"""

from __future__ import annotations

from hub import Hub
from moodle import ADMIN_TOKEN, MoodleUser, configure, lti13_config
from test_moodle import LAB_RENDERED, inside, moodle_site, people  # noqa: F401 (fixtures)


def click_lti13(person: MoodleUser, hub: Hub) -> None:
    """The person opens the course and clicks "Jupyter 1.3"; drives the window Moodle opens,
    once it reaches the hub."""
    b = person.browser
    known = frozenset(t["id"] for t in b.pages())
    person.open_course()
    person.click_activity(person.fixture["lti13"]["cmid"], "lti")
    b.attach(f"{hub.url}/", timeout=60, exclude=known)


def test_student_launches_by_lti13_from_moodle(make_hub, moodle_site, people, engine, artifacts):
    hub = make_hub(hub_config=f'api_token = "{ADMIN_TOKEN}"\n', extra_config=lti13_config(moodle_site))
    fixture = configure(hub, lms={"lms_cpulimit": "0.5", "lms_teachers": "teacher1"})
    student = people(fixture, "student1")
    student.log_in()
    click_lti13(student, hub)
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
