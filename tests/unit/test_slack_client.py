"""SlackClient against a bare HTTP server: answers that arrive broken are retried, whatever breaks."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connectors.slack import SlackClient

BODY = json.dumps({"ok": True, "channels": [{"id": "C1", "name": "café"}]}, ensure_ascii=False).encode()
CUT_IN_A_CHARACTER = BODY[: BODY.index("é".encode()) + 1]  # the first byte of é's two


@pytest.fixture
def serve_twice():
    """A server answering `first` to the first request and the whole body after; yields its URL
    and the requests it saw."""
    seen = []

    def start(first: bytes):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append(self.path)
                body = first if len(seen) == 1 else BODY
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET  # slack-sdk posts some methods

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/api/", seen

    servers = []
    yield start
    for server in servers:
        server.shutdown()


@pytest.mark.parametrize("first", [CUT_IN_A_CHARACTER, BODY[:10]], ids=["cut-inside-a-character", "cut-json"])
def test_a_body_cut_short_is_retried(serve_twice, first):
    url, seen = serve_twice(first)
    client = SlackClient("xoxb-test", url, max_retries=2)
    assert client.call("conversations.list")["channels"][0]["name"] == "café"
    assert len(seen) == 2
