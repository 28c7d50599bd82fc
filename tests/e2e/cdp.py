"""Headless Chromium driven over the Chrome DevTools Protocol with websocket-client (no driver,
no browser download: Debian's /usr/bin/chromium)."""

from __future__ import annotations

import base64
import copy
import functools
import http.server
import itertools
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import requests
import websocket

CHROMIUM = os.environ.get("LTICONTAINER_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    "--no-default-browser-check",
    "--window-size=1366,850",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]


# The error Chromium fails a page's queued requests with when the machine's addresses change.
NETWORK_CHANGED = "net::ERR_NETWORK_CHANGED"
# How long a page may take to come right by itself after such a drop (an EventSource reconnects)
# before `Chromium.wait_for` reloads it.
NETWORK_CHANGE_GRACE = 3.0
# Only requests dropped within this long of the document's request count: a page loading (Lab
# activates its plugins once, and one failed fetch breaks it for good); a page that has loaded
# retries its own polls, and reloading it would lose what a test typed into it.
PAGE_LOAD_WINDOW = 30.0


class CdpError(RuntimeError):
    """A CDP command answered with an error."""

    def __init__(self, method: str, error: dict):
        super().__init__(f"CDP {method} failed: {error}")
        self.code = error.get("code")


class JsError(RuntimeError):
    """An expression evaluated in the page threw."""


class Chromium:
    """One headless Chromium process and a CDP connection to its first page."""

    # The execution context expressions run in (`in_frame`); None: the page's main frame.
    _context: int | None = None

    def __init__(self, profile: Path, log: Path, extra_flags: tuple[str, ...] = ()):
        profile.mkdir(parents=True, exist_ok=True)
        self.log = log
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, *extra_flags, f"--user-data-dir={profile}", "about:blank"],
            stdout=open(log, "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start its DevTools endpoint; log:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
        self.port = int(port_file.read_text().split()[0])
        self._ids = itertools.count(1)
        self.console: list[str] = []
        # What the page's scripts threw without catching (CDP Runtime.exceptionThrown).
        self.exceptions: list[str] = []
        # The page's requests still waiting for their end, by CDP request id: method, URL and the
        # response's status once it came; and the last that failed (both for failure messages).
        self._pending: dict[str, list] = {}
        self._failed: list[str] = []
        # Requests of the current page that Chromium dropped because the machine's network
        # changed (see `_recover_from_network_change`): when, method, URL.
        self._dropped: list[tuple[float, str, str]] = []
        # The method of the request that brought the page's current document (None: not seen),
        # and when it was sent (or when this page began to be watched).
        self._document_method: str | None = None
        self._document_at = time.monotonic()
        # The reloads `wait_for` made for such drops, for the failure message and the test output.
        self.reloads: list[str] = []
        # Requests held by `pause_requests`, in the order they were paused.
        self._paused: list[dict] = []
        self._connect(self.pages()[0])

    def _connect(self, target: dict) -> None:
        self.ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self.target_id: str = target["id"]

    def pages(self) -> list[dict]:
        """The browser's pages (tabs and windows): DevTools targets with `id`, `url`, `title`."""
        targets = requests.get(f"http://127.0.0.1:{self.port}/json/list", timeout=10).json()
        return [t for t in targets if t["type"] == "page"]

    def attach(self, url_prefix: str, timeout: float, exclude: frozenset[str] = frozenset()) -> str:
        """Drives, from now on, the page whose URL starts with `url_prefix` and whose target id is
        not in `exclude` (e.g. the window a launch opened), once there is one; returns its id."""
        deadline = time.monotonic() + timeout
        while True:
            found = [t for t in self.pages() if t["url"].startswith(url_prefix) and t["id"] not in exclude]
            if found:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"no page at {url_prefix}… within {timeout}s; pages: {[t['url'] for t in self.pages()]}")
            time.sleep(0.2)
        self.ws.close()
        self._connect(found[0])
        self._watch_page()
        return self.target_id

    def close_page(self, target_id: str) -> None:
        """Closes one page (tab or window), as a person closes a window."""
        requests.get(f"http://127.0.0.1:{self.port}/json/close/{target_id}", timeout=10)

    def call(self, method: str, **params) -> dict:
        """Sends one CDP command and returns its result (events that arrive meanwhile are recorded)."""
        msg_id = next(self._ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise CdpError(method, msg["error"])
                return msg.get("result", {})
            self._record(msg)

    def _record(self, msg: dict) -> None:
        """Keeps what an event says that a caller asks for later: console lines, paused requests."""
        if msg.get("method") == "Runtime.consoleAPICalled":
            args = msg["params"].get("args", [])
            self.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
        elif msg.get("method") == "Fetch.requestPaused":
            self._paused.append(msg["params"])
        elif msg.get("method") == "Runtime.exceptionThrown":
            details = msg["params"]["exceptionDetails"]
            self.exceptions.append(str(details.get("exception", {}).get("description", details.get("text")))[:300])
        elif msg.get("method", "").startswith("Network."):
            self._record_request(msg["method"], msg["params"])

    def _record_request(self, event: str, params: dict) -> None:
        """Follows one request of the page from its start to its end (CDP Network events)."""
        request_id = params.get("requestId")
        if request_id is None:
            return  # an event about the network, not one request
        if event == "Network.requestWillBeSent":
            self._pending[request_id] = [params["request"]["method"], params["request"]["url"], None]
            if params.get("type") == "Document" and params.get("frameId") == self.target_id:
                self._document_method = params["request"]["method"]
                self._document_at = time.monotonic()
        elif event == "Network.responseReceived" and request_id in self._pending:
            self._pending[request_id][2] = params["response"]["status"]
        elif event == "Network.loadingFinished":
            self._pending.pop(request_id, None)
        elif event == "Network.loadingFailed":
            method, url, _ = self._pending.pop(request_id, ["?", "?", None])
            self._failed = [*self._failed[-4:], f"{method} {url}: {params.get('errorText')}"]
            now = time.monotonic()
            if params.get("errorText") == NETWORK_CHANGED and now - self._document_at < PAGE_LOAD_WINDOW:
                self._dropped.append((now, method, url))

    def diagnosis(self) -> str:
        """What the page is at, for a failure message: its address and text, the document's state
        and status, the requests it still waits for, the last that failed, and what its scripts
        threw or logged last (the evaluation first reads the events that arrived meanwhile)."""
        try:
            state = self.evaluate(
                "JSON.stringify({href: location.href, ready: document.readyState, shown: document.visibilityState,"
                " status: (performance.getEntriesByType('navigation')[0] || {}).responseStatus,"
                " text: (document.body && document.body.innerText || '').slice(0, 400)})"
            )
        except (CdpError, JsError) as e:
            state = f"(the page did not answer: {e})"
        pending = [f"{m} {u} ({'no response' if s is None else s})" for m, u, s in self._pending.values()
                   if not u.startswith("data:")]
        return (
            f"page: {state}; waiting for {len(pending)} request(s): {pending[:6]}; failed: {self._failed}; "
            f"reloaded for {NETWORK_CHANGED}: {self.reloads}; thrown: {self.exceptions[-3:]}; console: {self.console[-3:]}"
        )

    def pause_requests(self, *url_patterns: str) -> None:
        """From now on, the page's requests to a URL matching one of `url_patterns` (CDP
        wildcards: `*`, `?`) wait before they are sent (CDP `Fetch.enable`, request stage) until
        `continue_request` lets each go, as it was or changed; `next_paused_request` returns them
        in turn. Only this page: a window it opens is not held."""
        self.call("Fetch.enable", patterns=[{"urlPattern": p, "requestStage": "Request"} for p in url_patterns])

    def next_paused_request(self, timeout: float) -> dict:
        """The next request `pause_requests` holds: CDP's `Fetch.requestPaused` event, with
        `requestId` and `request` (`url`, `method`, `headers`; `postData` filled in as text
        when the body came only as `postDataEntries`)."""
        deadline = time.monotonic() + timeout
        while not self._paused:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no request was paused within {timeout}s at {self.evaluate('location.href')}")
            self.ws.settimeout(left)
            try:
                self._record(json.loads(self.ws.recv()))
            except websocket.WebSocketTimeoutException:
                pass
            finally:
                self.ws.settimeout(60)
        paused = self._paused.pop(0)
        request = paused["request"]
        if "postData" not in request and request.get("postDataEntries"):
            request["postData"] = b"".join(base64.b64decode(e.get("bytes", "")) for e in request["postDataEntries"]).decode()
        return paused

    def continue_request(self, paused: dict, *, post_data: str | None = None, url: str | None = None) -> None:
        """Sends a request `next_paused_request` returned, with its body replaced by `post_data`
        and its URL by `url` when given (unseen by the page)."""
        changes: dict = {}
        if post_data is not None:
            changes["postData"] = base64.b64encode(post_data.encode()).decode()
        if url is not None:
            changes["url"] = url
        self.call("Fetch.continueRequest", requestId=paused["requestId"], **changes)

    def stop_pausing(self) -> None:
        """Ends `pause_requests`: requests go out again without waiting."""
        self.call("Fetch.disable")

    def navigate(self, url: str) -> None:
        """Opens `url` in the page."""
        self._watch_page()
        self.call("Page.navigate", url=url)

    def _watch_page(self) -> None:
        """Has the page report its loads, console lines, exceptions and requests (`diagnosis`)."""
        self._pending.clear()
        self._dropped.clear()
        self._document_method = None
        self._document_at = time.monotonic()
        for domain in ("Page", "Runtime", "Network"):
            self.call(f"{domain}.enable")

    def evaluate(self, expression: str, awaited: bool = False):
        """Evaluates a JavaScript expression in the page (as if the user acted: clicks count as
        user gestures) and returns its value (with `awaited`, the value its promise resolves
        to); a thrown exception raises `JsError`."""
        params = {"contextId": self._context} if self._context is not None else {}
        result = self.call(
            "Runtime.evaluate",
            expression=expression,
            returnByValue=True,
            userGesture=True,
            awaitPromise=awaited,
            **params,
        )
        if "exceptionDetails" in result:
            raise JsError(f"{expression!r} threw: {result['exceptionDetails'].get('exception', {}).get('description')}")
        return result.get("result", {}).get("value")

    def frame_at(self, url_prefix: str, timeout: float) -> str:
        """Waits until a frame of the page (an iframe, at any depth) shows a URL starting with
        `url_prefix`; returns its frame id."""
        deadline = time.monotonic() + timeout
        while True:
            stack = [self.call("Page.getFrameTree")["frameTree"]]
            while stack:
                node = stack.pop()
                if node["frame"]["url"].startswith(url_prefix):
                    return node["frame"]["id"]
                stack.extend(node.get("childFrames", []))
            if time.monotonic() > deadline:
                raise TimeoutError(f"no frame at {url_prefix}… within {timeout}s")
            time.sleep(0.5)

    def in_frame(self, frame_id: str) -> Chromium:
        """A view of this browser whose expressions run in the frame `frame_id` (an isolated
        world of it: the frame's DOM and location, another origin's iframe included); it shares
        the connection, so input goes to the page as before."""
        view = copy.copy(self)
        view._context = self.call("Page.createIsolatedWorld", frameId=frame_id, worldName="e2e")["executionContextId"]
        return view

    def type_text(self, text: str) -> None:
        """Types `text` into the focused element, as a keyboard would."""
        self.call("Input.insertText", text=text)

    def press(self, key: str, code: str, key_code: int, modifiers: int = 0) -> None:
        """Presses and releases one key (`modifiers`: 1 Alt, 2 Ctrl, 4 Meta, 8 Shift)."""
        for kind in ("rawKeyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key=key, code=code, windowsVirtualKeyCode=key_code,
                      nativeVirtualKeyCode=key_code, modifiers=modifiers)

    def wait_for(self, expression: str, timeout: float) -> None:
        """Polls until the expression is truthy in the page (reloading it when Chromium dropped
        its requests because the machine's network changed: `_recover_from_network_change`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.evaluate(expression):
                    self._dropped.clear()  # the page came right: what was dropped did not matter
                    return
            except CdpError as e:
                # The page navigated while the expression ran (the launch form submits itself,
                # the hub redirects); evaluate again in the new document.
                if e.code != -32000:
                    raise
            except JsError:
                pass  # the document is still loading (no body, no element yet)
            self._recover_from_network_change()
            time.sleep(0.5)
        raise TimeoutError(f"{expression!r} stayed false for {timeout}s; {self.diagnosis()}")

    def _recover_from_network_change(self) -> None:
        """Reloads the page, as a person would, when Chromium itself failed some of its requests
        with `net::ERR_NETWORK_CHANGED` while it loaded, and the page has not come right within a
        few seconds.

        Chromium fails every request still queued for a connection whenever an address appears
        on or leaves any interface of the machine, loopback requests included; on a test machine
        that is each container an engine starts or removes (the IPv6 link-local address of its
        veth) or a bridge it creates. JupyterLab loads with dozens of requests at once, more than
        Chromium's six connections to one host, so one container starting elsewhere can leave
        Lab blank for good (a plugin failed to activate: "Failed to fetch"). A student's browser
        runs on another machine than the engine and never sees this.

        Only this error reloads (it never comes from a server: a hub that refused, failed or
        dropped a request gives another), at most three times per browser; a document that a
        form's POST brought (or whose POST was dropped) is not reloaded, as that would send the
        form again: it times out with its diagnosis."""
        if not self._dropped or time.monotonic() - self._dropped[0][0] < NETWORK_CHANGE_GRACE or len(self.reloads) >= 3:
            return
        if self._document_method not in (None, "GET"):
            return
        dropped = [f"{method} {url}" for _, method, url in self._dropped]
        self._dropped.clear()
        self._pending.clear()
        self.reloads.append(f"{len(dropped)} dropped, first {dropped[0]}")
        line = f"reloading the page: Chromium dropped {len(dropped)} request(s) with {NETWORK_CHANGED}: {dropped[:4]}"
        print(f"chromium: {line}")
        # One file beside the browsers' logs counts them over a whole run.
        with open(self.log.with_name("network-change-reloads.log"), "a", encoding="utf-8") as reloads:
            reloads.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {self.log.name}: {line}\n")
        self.call("Page.reload")

    def cookies(self, url: str) -> list[dict]:
        """The cookies the browser holds for `url` (CDP Network.getCookies)."""
        return self.call("Network.getCookies", urls=[url])["cookies"]

    def screenshot(self, path: Path) -> None:
        """Saves a PNG of the page."""
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        """Closes the connection and ends this Chromium process (only it and its children)."""
        try:
            self.ws.close()
        except Exception:
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(10)


class LaunchPage:
    """Serves one HTML page (Moodle's auto-submitting launch form) on 127.0.0.1, like a Moodle site."""

    def __init__(self, directory: Path, html: str):
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "launch.html").write_text(html, encoding="utf-8")
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        """The page's URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/launch.html"

    def close(self) -> None:
        """Stops serving."""
        self.server.shutdown()
        self.server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class names it so
        pass
