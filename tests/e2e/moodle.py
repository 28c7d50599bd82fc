"""The real Moodle of the Moodle tier: `scripts/setup-moodle.sh` installs and serves it (Moodle 5.1
with mod_lticontainer on MariaDB, from `$LTICONTAINER_MOODLE_DIR`), and points its course fixture at
the hub a test started; `db_rows` reads its database; `MoodleUser` is a person in Chromium on
Moodle's pages. `$LTICONTAINER_MOODLE_PORT` and `$LTICONTAINER_CACHE_DIR` choose which Moodle (the
script reads them), so a run can have a Moodle of its own.

When the Moodle archives are missing (a fresh clone without `../shared/moodle`) the script says so
and exits 3: the tier is skipped with that message, unless `CI=true`, where it fails.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from cdp import Chromium
from hub import CONSUMER_KEY, CONSUMER_SECRET, REPO, Hub

SETUP = REPO / "scripts" / "setup-moodle.sh"
# The hub's admin token in the Moodle tier: mod_lticontainer's "JupyterHub API Token".
ADMIN_TOKEN = "e2e-admin-" + CONSUMER_SECRET[-24:]
# setup-moodle.sh: the archives are missing and CI is not set.
SKIPPED = 3


def run_setup(*options: str) -> dict:
    """Runs `scripts/setup-moodle.sh` (install when needed, serve, the fixture) and returns the
    fixture as it printed it; skips the test when the Moodle archives are missing outside CI."""
    out = subprocess.run([str(SETUP), *options], capture_output=True, text=True, timeout=900)
    if out.returncode == SKIPPED and os.environ.get("CI") != "true":
        pytest.skip(out.stderr.strip().splitlines()[-1])
    if out.returncode != 0:
        pytest.fail(f"scripts/setup-moodle.sh failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout)


# What `mariadb --batch` escapes in a value (a backslash, a newline, a tab, a NUL).
_UNESCAPE = {"\\": "\\", "n": "\n", "t": "\t", "0": "\0"}


def db_rows(sql: str) -> list[list[str]]:
    """The rows of `sql` in this Moodle's database (`scripts/setup-moodle.sh sql`), each a list of
    its columns as text (NULL as "NULL"); every read of Moodle's tables by the tests and benches
    goes through here."""
    # Bytes, not text: a value's carriage return (mod_lti's custom parameters end lines with CRLF)
    # comes unescaped, and text mode would read it as a line break.
    out = subprocess.run([str(SETUP), "sql", sql], capture_output=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"scripts/setup-moodle.sh sql failed ({out.returncode}) for {sql!r}: "
                           f"{out.stderr.decode(errors='replace').strip()}")
    unescape = lambda v: re.sub(r"\\(.)", lambda m: _UNESCAPE.get(m[1], m[0]), v)  # noqa: E731
    lines = out.stdout.decode().split("\n")
    return [[unescape(v) for v in line.split("\t")] for line in lines[:-1]]


def lti13_config(site: dict, deployment_ids: list[str] | None = None, client_id: str | None = None,
                 settings: str = "") -> str:
    """The hub's `[lti13]` table for the fixture's LTI 1.3 registration (`site["lti13"]`); its own
    deployment id and client id unless `deployment_ids` or `client_id` say otherwise; `settings`:
    more lines of the `[lti13]` table (e.g. `leeway_secs = 0`)."""
    reg = site["lti13"]
    deployments = ", ".join(json.dumps(d) for d in (deployment_ids if deployment_ids is not None else [reg["deployment_id"]]))
    return (
        f"\n[lti13]\n{settings}[[lti13.platform]]\n"
        f"issuer = {json.dumps(reg['issuer'])}\n"
        f"client_id = {json.dumps(client_id if client_id is not None else reg['client_id'])}\n"
        f"deployment_ids = [{deployments}]\n"
        f"auth_login_url = {json.dumps(reg['auth_login_url'])}\n"
        f"key_set_url = {json.dumps(reg['key_set_url'])}\n"
        f"token_url = {json.dumps(reg['token_url'])}\n"
    )


def configure(hub: Hub, *, secret: str = CONSUMER_SECRET, launch_container: str = "window",
              lms: dict[str, str] | None = None, extra: list[str] | None = None,
              accept_grades: bool = False) -> dict:
    """Points Moodle's LTI tools (1.1: its launch URL, consumer key and `secret`; 1.3: its login
    and launch URLs) and mod_lticontainer activity at `hub` (its admin token, its engine) with the
    "LTI Edit" settings `lms` on both LTI activities; with `accept_grades` the 1.1 activity accepts
    grades (out of 100, emptied); returns the fixture (URLs, users with passwords, course and
    activity ids, the 1.3 registration); `extra`: more fixture options."""
    options = [
        f"--tool-url={hub.launch_url}",
        f"--lti13-hub={hub.url}",
        f"--consumer-key={CONSUMER_KEY}",
        f"--consumer-secret={secret}",
        f"--hub-url={hub.url}",
        f"--api-token={ADMIN_TOKEN}",
        f"--engine={hub.engine}",
        f"--launch-container={launch_container}",
        f"--accept-grades={1 if accept_grades else 0}",
    ]
    options += [f"--lms={name}={value}" for name, value in (lms or {}).items()]
    options += extra or []
    return run_setup(*options)


def read_grades(lti_id: int) -> dict[str, float | None]:
    """The gradebook's grades of LTI activity `lti_id` per enrolled username (out of the item's
    maximum; `None`: no grade), read through Moodle's grade API (`scripts/moodle/grades.php`)."""
    out = subprocess.run([str(SETUP), "grades", f"--lti={lti_id}"], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        pytest.fail(f"scripts/setup-moodle.sh grades failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout)


def rotate_signing_key() -> str:
    """Gives the site a new LTI 1.3 signing key, as Moodle makes its first one
    (`scripts/setup-moodle.sh rotate-key`); returns its key id."""
    out = subprocess.run([str(SETUP), "rotate-key"], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        pytest.fail(f"scripts/setup-moodle.sh rotate-key failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout)["kid"]


@dataclass
class MoodleUser:
    """One person on Moodle's pages in their own headless Chromium."""

    fixture: dict
    username: str
    browser: Chromium

    @classmethod
    def open(cls, fixture: dict, username: str, workdir: Path, log: Path) -> MoodleUser:
        """Starts a browser for `username` (a fresh profile: no cookies yet) that lets Moodle open
        windows: Moodle opens a "New window" activity with `window.open` from the activity's page,
        which Chromium's pop-up blocker stops now and then (no click in that page); people allow
        pop-ups for their Moodle site."""
        flags = ("--disable-popup-blocking",)
        return cls(fixture, username, Chromium(workdir / f"chromium-{username}", log, flags))

    @property
    def url(self) -> str:
        """Moodle's base URL."""
        return self.fixture["moodle_url"]

    def log_in(self) -> None:
        """Logs in through Moodle's login page, as a person types their name and password.

        The fields are filled and the button pressed in one script: Moodle's page replaces its
        password field with a copy (`core/togglesensitive`, its show-password button) once a
        template has loaded, and the copy is empty — a password typed before that is lost
        ("Invalid login"; seen with the machine under load, the template a second late)."""
        b = self.browser
        b.navigate(f"{self.url}/login/index.php")
        b.wait_for("!!document.querySelector('#username') && !!document.querySelector('#loginbtn')", timeout=60)
        password = self.fixture["users"][self.username]["password"]
        b.evaluate(
            f"document.querySelector('#username').value = {json.dumps(self.username)};"
            f"document.querySelector('#password').value = {json.dumps(password)};"
            "document.querySelector('#loginbtn').click()"
        )
        b.wait_for("!location.pathname.startsWith('/login/') && !!document.querySelector('.usermenu, #user-menu-toggle')",
                   timeout=60)

    def open_course(self) -> None:
        """Opens the course page from Moodle's "My courses"."""
        b = self.browser
        b.navigate(f"{self.url}/my/courses.php")
        course = self.fixture["course"]
        link = f"a[href$='/course/view.php?id={course['id']}']"
        b.wait_for(f"!!document.querySelector({json.dumps(link)})", timeout=60)
        b.evaluate(f"document.querySelector({json.dumps(link)}).click()")
        b.wait_for(f"location.pathname === '/course/view.php' && document.body.innerText.includes('Jupyter')",
                   timeout=60)

    def click_activity(self, cmid: int, module: str) -> None:
        """Clicks the activity `cmid` of `module` (lti, lticontainer) in the course page's content
        (the course index beside it only scrolls to the activity). An External tool set to open in
        a new window opens it from the course page (the link's `onclick`), which stays."""
        b = self.browser
        link = f"#region-main a[href*='/mod/{module}/view.php?id={cmid}']"
        b.wait_for(f"!!document.querySelector({json.dumps(link)})", timeout=60)
        b.evaluate(f"document.querySelector({json.dumps(link)}).click()")

    def close(self) -> None:
        """Ends this person's browser."""
        self.browser.close()
