"""An LTI 1.1 tool consumer that signs launches the way Moodle does, independent of lticontainer.

Signing uses oauthlib (HMAC-SHA1, parameters in the form body), not lticontainer's own code, so a
launch that lticontainer accepts is one that a standard OAuth 1.0a implementation produced.

Run as a script to print a signed launch form (the page Moodle renders and the browser submits):

    python tests/e2e/lti_consumer.py --url http://127.0.0.1:8000/hub/lti/launch \
        --key moodle --secret s3cret --user alice --out launch.html
"""

from __future__ import annotations

import argparse
import html
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field

from oauthlib import oauth1


@dataclass
class Student:
    """One Moodle user and the course they launch from."""

    username: str
    user_id: str = "2"
    roles: str = "Learner"
    context_id: str = "101"
    context_title: str = "Data Science 101"
    full_name: str = ""
    email: str = ""


@dataclass
class MoodleConsumer:
    """Signs launches for one consumer key, like a Moodle site with one external tool."""

    key: str
    secret: str
    launch_url: str
    moodle_url: str = "http://127.0.0.1/moodle"
    # The LTI activity, as Moodle numbers it: 76, the one the analytics tests' `lms_sessioninfo`
    # ("3,76") names — the hub takes a session info only from a launch of its own activity.
    resource_link_id: str = "76"
    custom: dict[str, str] = field(default_factory=lambda: {"lms_defurl": "/lab"})

    def send_logs_to(self, target: dict[str, str]) -> None:
        """Adds mod_lticontainer's analytics parameters `target` (`lms_sessioninfo`,
        `lms_serverurl`, `lms_serverpath`, `lms_rpctoken`) as the plugin writes them from Moodle's
        wwwroot, which the launch's own Moodle URLs (`launch_presentation_return_url`, …) then
        name too: the hub sends notebook logs only to the Moodle that signed the launch."""
        self.custom = {**self.custom, **target}
        self.moodle_url = target["lms_serverurl"].rstrip("/") + target.get("lms_serverpath", "")

    def launch_params(self, student: Student) -> dict[str, str]:
        """Returns the unsigned launch parameters Moodle's `lti_build_request` would send."""
        params = {
            "lti_message_type": "basic-lti-launch-request",
            "lti_version": "LTI-1p0",
            "resource_link_id": self.resource_link_id,
            "resource_link_title": "Jupyter notebook",
            "resource_link_description": "",
            "user_id": student.user_id,
            "ext_user_username": student.username,
            "lis_person_sourcedid": "",
            "lis_person_name_given": student.full_name.split(" ")[0] if student.full_name else student.username,
            "lis_person_name_family": "Student",
            "lis_person_name_full": student.full_name or f"{student.username} Student",
            "lis_person_contact_email_primary": student.email or f"{student.username}@example.invalid",
            "roles": student.roles,
            "context_id": student.context_id,
            "context_label": "DS101",
            "context_title": student.context_title,
            "context_type": "CourseSection",
            "launch_presentation_locale": "en",
            "launch_presentation_document_target": "window",
            "launch_presentation_return_url": f"{self.moodle_url}/mod/lti/return.php?course={student.context_id}",
            "lis_outcome_service_url": f"{self.moodle_url}/mod/lti/service.php",
            "lis_result_sourcedid": f'{{"data":{{"instanceid":"{self.resource_link_id}","userid":"{student.user_id}"}}}}',
            "tool_consumer_info_product_family_code": "moodle",
            "tool_consumer_info_version": "2024100700",
            "tool_consumer_instance_guid": "127.0.0.1",
            "tool_consumer_instance_name": "e2e Moodle",
            "ext_lms": "moodle-2",
            "oauth_callback": "about:blank",
        }
        for name, value in self.custom.items():
            params[f"custom_{name}"] = value
        return params

    def sign(
        self,
        student: Student,
        *,
        timestamp: int | None = None,
        nonce: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> dict[str, str]:
        """Returns the launch form fields, signed with HMAC-SHA1 over the body (oauth_* included).

        `timestamp` and `nonce` default to now and a fresh random value; tests pass them to
        produce stale or replayed launches.
        """
        params = self.launch_params(student)
        params.update(extra or {})
        # Moodle adds oauth_callback itself; oauthlib adds it from callback_uri, so take it out here.
        callback = params.pop("oauth_callback", None)
        client = oauth1.Client(
            self.key,
            client_secret=self.secret,
            callback_uri=callback,
            signature_method=oauth1.SIGNATURE_HMAC_SHA1,
            signature_type=oauth1.SIGNATURE_TYPE_BODY,
            timestamp=str(timestamp if timestamp is not None else int(time.time())),
            nonce=nonce or uuid.uuid4().hex,
        )
        _, _, body = client.sign(
            self.launch_url,
            http_method="POST",
            body=params,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        return dict(urllib.parse.parse_qsl(body, keep_blank_values=True))

    def form_html(self, fields: dict[str, str]) -> str:
        """Renders Moodle's auto-submitting launch page (`lti_post_launch_html`) for signed fields."""
        inputs = "\n".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}"/>' for k, v in fields.items()
        )
        return (
            "<!DOCTYPE html>\n<html><head><title>Launching…</title></head><body>\n"
            f'<form action="{html.escape(self.launch_url)}" name="ltiLaunchForm" id="ltiLaunchForm" '
            'method="post" encType="application/x-www-form-urlencoded">\n'
            f"{inputs}\n"
            '<input type="submit" value="Press to continue to external tool"/>\n'
            "</form>\n"
            '<script type="text/javascript">\n'
            "//<![CDATA[\n"
            "document.forms[0].submit();\n"
            "//]]>\n"
            "</script>\n</body></html>\n"
        )


def main() -> None:
    """Prints (or writes) a signed, auto-submitting launch page."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="the tool's launch URL, e.g. http://127.0.0.1:8000/hub/lti/launch")
    ap.add_argument("--key", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--user", required=True, help="Moodle username (ext_user_username)")
    ap.add_argument("--user-id", default="2")
    ap.add_argument("--custom", action="append", default=[], help="name=value, sent as custom_<name>")
    ap.add_argument("--out", help="write the page here instead of stdout")
    args = ap.parse_args()
    custom = {"lms_defurl": "/lab"}
    for item in args.custom:
        name, _, value = item.partition("=")
        custom[name] = value
    consumer = MoodleConsumer(args.key, args.secret, args.url, custom=custom)
    page = consumer.form_html(consumer.sign(Student(args.user, user_id=args.user_id)))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(page)
    else:
        print(page)


if __name__ == "__main__":
    main()
