"""A notebook's kernel channel WebSocket as JupyterLab 4 speaks it, in both encodings.

* the JSON text protocol (no subprotocol): one JSON message per text frame;
* `v1.kernel.websocket.jupyter.org`: binary frames, a little-endian u64 count of offsets, the
  offsets, then the channel name and the JSON header, parent header, metadata and content
  (jupyter_server's `serialize_msg_to_ws_v1`, JupyterLab's `serializeV1KernelMessage`).

`run_cell` sends an `execute_request` with the cell's id and tags in its metadata, as JupyterLab
does for a notebook cell, and returns the `execute_reply`'s status.
"""

from __future__ import annotations

import json
import struct
import time
import uuid

import websocket

from client import Browser, execute_request

V1 = "v1.kernel.websocket.jupyter.org"


def encode_v1(channel: str, msg: dict) -> bytes:
    parts = [json.dumps(msg[k]).encode() for k in ("header", "parent_header", "metadata", "content")]
    chan = channel.encode()
    offsets = [8 * (1 + 1 + len(parts) + 1)]
    offsets.append(offsets[-1] + len(chan))
    for p in parts:
        offsets.append(offsets[-1] + len(p))
    return struct.pack(f"<{1 + len(offsets)}Q", len(offsets), *offsets) + chan + b"".join(parts)


def decode_v1(data: bytes) -> dict:
    (n,) = struct.unpack_from("<Q", data, 0)
    offsets = list(struct.unpack_from(f"<{n}Q", data, 8))
    if offsets[-1] != len(data):
        offsets.append(len(data))
    parts = [data[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
    msg = {"channel": parts[0].decode()}
    for i, k in enumerate(("header", "parent_header", "metadata", "content")):
        msg[k] = json.loads(parts[i + 1]) if parts[i + 1] else {}
    return msg


class KernelChannel:
    """One open kernel channel connection of a student's notebook."""

    def __init__(self, browser: Browser, kernel_id: str, *, v1: bool, session_id: str | None = None):
        self.browser = browser
        self.v1 = v1
        self.session_id = session_id or uuid.uuid4().hex
        path = f"/user/{browser.name}/api/kernels/{kernel_id}/channels?session_id={self.session_id}"
        self.ws = websocket.create_connection(
            "ws://127.0.0.1:%d%s" % (browser.hub.port, path),
            header=[
                f"Cookie: {browser.cookie_header(browser.hub.url + path)}",
                f"X-XSRFToken: {browser.xsrf_token()}",
                # Browsers offer compression; the hub keeps it from being negotiated.
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
            ],
            subprotocols=[V1] if v1 else None,
            origin=browser.hub.url,
            timeout=120,
        )
        chosen = self.ws.getsubprotocol()
        assert chosen == (V1 if v1 else None), f"subprotocol {chosen!r}"
        ext = (self.ws.getheaders() or {}).get("sec-websocket-extensions")
        assert not ext, f"compression was negotiated: {ext!r}"

    def close(self) -> None:
        self.ws.close()

    def run_cell(self, code: str, cell_id: str, tags: list[str], timeout: float = 120) -> tuple[str, str]:
        """Runs `code` as the notebook cell `cell_id` with `tags`; returns (msg_id, reply status)."""
        msg = execute_request(
            self.session_id,
            code,
            metadata={"deletedCells": [], "recordTiming": False, "cellId": cell_id, "tags": tags},
        )
        msg_id = msg["header"]["msg_id"]
        if self.v1:
            self.ws.send_binary(encode_v1("shell", msg))
        else:
            self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frame = self.ws.recv()
            if isinstance(frame, bytes):
                if not self.v1:
                    continue
                reply = decode_v1(frame)
            else:
                assert not self.v1, "a text frame in the v1 protocol"
                reply = json.loads(frame)
            header = reply.get("header", {})
            if header.get("msg_type") == "execute_reply" and reply.get("parent_header", {}).get("msg_id") == msg_id:
                return msg_id, reply["content"]["status"]
        raise AssertionError(f"no execute_reply for {code!r} within {timeout}s")
