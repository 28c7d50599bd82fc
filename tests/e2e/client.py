"""A student's browser, scripted: launch, watch the spawn progress, open JupyterLab, run a kernel.

It speaks only the public wire contracts (the LTI form POST, JupyterHub's progress event stream,
the single-user server's OAuth redirects, Jupyter Server's REST and kernel WebSocket protocol), so
the same client works against any JupyterHub-compatible hub.
"""

from __future__ import annotations

import datetime
import json
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field

import requests
import websocket

from hub import Hub
from lti_consumer import MoodleConsumer, Student


def execute_request(session_id: str, code: str, *, username: str = "", metadata: dict | None = None) -> dict:
    """A kernel `execute_request` on the shell channel, as JupyterLab sends it (a fresh msg_id)."""
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "username": username,
            "session": session_id,
            "msg_type": "execute_request",
            "version": "5.3",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        },
        "parent_header": {},
        "metadata": metadata or {},
        "content": {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
        "channel": "shell",
        "buffers": [],
    }


class FlowError(AssertionError):
    """A step of the student's flow did not do what a browser would need."""


@dataclass
class Browser:
    """One student's cookie jar against one hub."""

    hub: Hub
    student: Student
    consumer: MoodleConsumer
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.verify = self.hub.verify
        # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a session's `verify`; the hub's
        # test CA must win (only loopback is reached, so no proxy settings are lost).
        self.session.trust_env = not self.hub.tls

    @property
    def name(self) -> str:
        """The hub user name: Moodle's username (ext_user_username)."""
        return self.student.username

    def post_launch(self, fields: dict[str, str] | None = None) -> requests.Response:
        """POSTs a (by default freshly signed) launch form, without following redirects."""
        fields = fields if fields is not None else self.consumer.sign(self.student)
        return self.session.post(self.hub.launch_url, data=fields, allow_redirects=False, timeout=30)

    def launch(self) -> str:
        """Launches and returns the URL the hub redirected to (the spawn-pending page or the server)."""
        r = self.post_launch()
        if r.status_code not in (302, 303):
            raise FlowError(f"launch answered {r.status_code}, not a redirect: {r.text[:500]}\n{self.hub.log_tail()}")
        location = urllib.parse.urljoin(r.url, r.headers["Location"])
        page = self.session.get(location, timeout=30)
        if page.status_code != 200:
            raise FlowError(f"GET {location} after the launch answered {page.status_code}: {page.text[:500]}")
        return page.url

    def progress_events(self, timeout: float = 400) -> list[dict]:
        """Reads the spawn's progress event stream until it reports ready or failed; returns all events."""
        url = f"{self.hub.url}/hub/api/users/{self.name}/server/progress"
        events: list[dict] = []
        deadline = time.monotonic() + timeout
        with self.session.get(url, stream=True, timeout=(10, timeout), headers={"Accept": "text/event-stream"}) as r:
            if r.status_code != 200:
                raise FlowError(f"GET {url} answered {r.status_code}: {r.text[:500]}")
            ctype = r.headers.get("Content-Type", "")
            if not ctype.startswith("text/event-stream"):
                raise FlowError(f"progress stream has Content-Type {ctype!r}, not text/event-stream")
            for line in r.iter_lines(decode_unicode=True):
                if time.monotonic() > deadline:
                    raise FlowError(f"no ready/failed event within {timeout}s; events so far: {events}")
                if not line or not line.startswith("data:"):
                    continue
                event = json.loads(line[len("data:") :].strip())
                events.append(event)
                if event.get("ready") or event.get("failed"):
                    return events
        raise FlowError(f"progress stream ended without ready/failed; events: {events}\n{self.hub.log_tail()}")

    def wait_ready(self, timeout: float = 400) -> dict:
        """Waits for the spawn to finish and returns the final ("ready") progress event."""
        events = self.progress_events(timeout)
        last = events[-1]
        if not last.get("ready"):
            raise FlowError(f"spawn failed: {last}\n{self.hub.log_tail()}")
        return last

    def open(self, path: str, **kwargs) -> requests.Response:
        """GETs a hub path following redirects (including the single-user OAuth round trip)."""
        return self.session.get(f"{self.hub.url}{path}", timeout=60, **kwargs)

    def open_lab(self) -> requests.Response:
        """Opens /user/<name>/lab like a browser and checks it lands on JupyterLab with status 200."""
        r = self.open(f"/user/{self.name}/lab")
        if r.status_code != 200:
            raise FlowError(f"GET /user/{self.name}/lab ended with {r.status_code} at {r.url}: {r.text[:500]}")
        return r

    def xsrf_token(self) -> str:
        """The single-user server's `_xsrf` cookie value (Jupyter Server 2 wants it echoed as a header)."""
        prefix = f"/user/{self.name}"
        for c in self.session.cookies:
            if c.name == "_xsrf" and c.path.rstrip("/").startswith(prefix):
                return c.value
        raise FlowError(f"no _xsrf cookie for {prefix}/ (cookies: {[(c.name, c.path) for c in self.session.cookies]})")

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """Calls the single-user server's REST API through the hub's proxy, as JupyterLab does."""
        headers = {"X-XSRFToken": self.xsrf_token(), **kwargs.pop("headers", {})}
        return self.session.request(
            method, f"{self.hub.url}/user/{self.name}/api/{path}", headers=headers, timeout=60, **kwargs
        )

    def cookie_header(self, url: str) -> str:
        """The Cookie header the jar sends to `url`."""
        prepared = self.session.prepare_request(requests.Request("GET", url))
        return prepared.headers.get("Cookie", "")

    def execute(self, code: str, timeout: float = 60) -> str:
        """Starts a kernel through the proxy, runs `code` on its WebSocket channel, returns text/plain result."""
        kernel_id = self.start_kernel()
        try:
            return self._execute_on(kernel_id, code, timeout)
        finally:
            self.api("DELETE", f"kernels/{kernel_id}")

    def start_kernel(self) -> str:
        """Starts a python3 kernel through the proxy and returns its id (delete it when done)."""
        r = self.api("POST", "kernels", json={"name": "python3"})
        if r.status_code != 201:
            raise FlowError(f"POST kernels answered {r.status_code}: {r.text[:500]}")
        return r.json()["id"]

    def run(self, kernel_id: str, code: str, timeout: float = 60) -> str:
        """Runs `code` in a running kernel (its state stays for the next cell), returns text/plain."""
        return self._execute_on(kernel_id, code, timeout)

    def _execute_on(self, kernel_id: str, code: str, timeout: float) -> str:
        session_id = uuid.uuid4().hex
        path = f"/user/{self.name}/api/kernels/{kernel_id}/channels?session_id={session_id}"
        ws = websocket.create_connection(
            "%s://%s:%d%s" % ("wss" if self.hub.tls else "ws", self.hub.host, self.hub.port, path),
            sslopt={"ca_certs": str(self.hub.ca_file)} if self.hub.tls else None,
            header=[f"Cookie: {self.cookie_header(self.hub.url + path)}", f"X-XSRFToken: {self.xsrf_token()}"],
            origin=self.hub.url,
            timeout=timeout,
        )
        try:
            request = execute_request(session_id, code, username=self.name)
            msg_id = request["header"]["msg_id"]
            ws.send(json.dumps(request))
            deadline = time.monotonic() + timeout
            while (remaining := deadline - time.monotonic()) > 0:
                # Short waits: the server's WebSocket pings (every 30 s) are answered inside
                # recv() and would restart a long socket timeout for ever.
                ws.settimeout(min(remaining, 5))
                try:
                    frame = ws.recv()
                except websocket.WebSocketTimeoutException:
                    continue
                if isinstance(frame, bytes):
                    continue  # binary (v1 protocol) frames are not requested, skip any
                msg = json.loads(frame)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = msg.get("msg_type") or msg.get("header", {}).get("msg_type")
                if kind == "execute_result":
                    return msg["content"]["data"]["text/plain"]
                if kind == "error":
                    raise FlowError(f"kernel error: {msg['content']}")
            raise FlowError(f"no execute_result for {code!r} within {timeout}s")
        finally:
            ws.close()
