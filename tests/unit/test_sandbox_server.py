"""The sandbox HTTP framework: lifecycle, accounting, admin routes, latency, ASGI mounts and the CLI."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from slack_sdk import WebClient

from connectors.sandbox import SandboxServer, World
from connectors.sandbox.server import AsgiService

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(7, "tiny")


def test_context_manager_binds_a_free_local_port_and_stops(world):
    with SandboxServer(world) as server:
        url = server.url
        assert url.startswith("http://127.0.0.1:") and server.slack_api_url == url + "/slack/api/"
        assert httpx.get(url + "/_sandbox/stats").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/_sandbox/stats")


def test_unknown_paths_are_404(world):
    with SandboxServer(world) as server:
        assert httpx.get(server.url + "/nowhere").status_code == 404
        assert server.stats()["total"] == 0


def test_stats_and_request_log_record_every_method_and_parameter(world):
    with SandboxServer(world) as server:
        web = WebClient(token=world.slack_bot_token, base_url=server.slack_api_url)
        web.auth_test()
        channel = world.expected_slack_channels()[0]["channel_id"]
        for _ in web.conversations_history(channel=channel, limit=2):
            pass
        stats = server.stats()
        assert stats["requests"]["slack"]["auth.test"] == 1
        assert stats["requests"]["slack"]["conversations.history"] >= 2
        assert stats["total"] == sum(stats["requests"]["slack"].values()) == len(server.request_log)
        first, second = server.request_log[1], server.request_log[2]
        assert (first.service, first.endpoint, first.http_method, first.params) == (
            "slack", "conversations.history", "POST", ("channel", "limit"))
        assert second.params == ("channel", "cursor", "limit")
        assert httpx.get(server.url + "/_sandbox/stats").json() == stats
        assert httpx.get(server.url + "/_sandbox/requests").json()[0] == ["slack", "auth.test", "POST", []]
        server.reset_stats()
        assert server.stats() == {"total": 0, "requests": {}, "faults": {}} and server.request_log == []


def test_faults_can_be_set_and_cleared_over_http(world):
    with SandboxServer(world) as server:
        plan = {"rate": 1.0, "kinds": ["ok_false"], "max_consecutive": 1}
        assert httpx.post(server.url + "/_sandbox/faults", json=plan).json()["kinds"] == ["ok_false"]
        response = httpx.post(server.slack_api_url + "auth.test", headers={"Authorization": "Bearer xoxb-1"})
        assert response.json() == {"ok": False, "error": "internal_error"}
        assert httpx.post(server.url + "/_sandbox/faults", json=None).json() is None
        assert server.faults is None
        assert httpx.post(server.url + "/_sandbox/faults", json={"kinds": ["nope"]}).status_code == 400


def test_world_mutations_over_http(world):
    local = World.generate(7, "tiny")
    with SandboxServer(local) as server:
        channel = local.expected_slack_channels()[0]["channel_id"]
        posted = httpx.post(server.url + "/_sandbox/world/post_message", json={"channel_id": channel, "text": "hi"})
        ts = posted.json()["result"]
        assert any(r["ts"] == ts and r["text"] == "hi" for r in local.expected_slack_messages())
        grown = httpx.post(server.url + "/_sandbox/world/grow_old_history", json={"factor": 2, "channel_id": channel})
        assert grown.json()["result"] > 0
        assert httpx.post(server.url + "/_sandbox/world/explode", json={}).status_code == 400


def test_latency_is_added_to_every_request_but_admin(world):
    with SandboxServer(world, latency_s=0.2) as server:
        started = time.perf_counter()
        httpx.post(server.slack_api_url + "auth.test", headers={"Authorization": "Bearer xoxb-1"})
        assert time.perf_counter() - started >= 0.2
        started = time.perf_counter()
        httpx.get(server.url + "/_sandbox/stats")
        assert time.perf_counter() - started < 0.2


def test_an_asgi_app_mounts_as_a_service(world):
    app = FastAPI()

    @app.get("/demo/v1/items/{item}")
    def item(item: str, q: str = "") -> dict:
        return {"item": item, "q": q}

    with SandboxServer(world) as server:
        server.mount(AsgiService("demo", "/demo/", lambda: app))
        response = httpx.get(server.service_url("demo") + "v1/items/zoë", params={"q": "李雷"})
        assert response.json() == {"item": "zoë", "q": "李雷"}
        assert server.stats()["requests"] == {"demo": {"v1/items/zoë": 1}}


def test_the_openai_app_is_mounted_by_default(world):
    import openai

    with SandboxServer(world) as server:
        model = openai.OpenAI(api_key="sk-proj-test", base_url=server.openai_base_url, max_retries=0)
        answer = model.chat.completions.create(model="gpt-5-mini", messages=[{"role": "user", "content": "hi"}])
        assert answer.choices[0].message.content
        assert server.stats()["requests"] == {"openai": {"v1/chat/completions": 1}}


def test_cli_prints_one_json_line_and_stops_on_sigterm():
    process = subprocess.Popen([sys.executable, "-m", "connectors.sandbox", "serve", "--seed", "7", "--size", "tiny",
                                "--fault-rate", "0.1", "--latency-ms", "0"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(process.stdout.readline())
        assert info["workspace_id"] == World.generate(7, "tiny").workspace_id
        assert info["slack_api_url"] == info["url"] + "/slack/api/"
        assert httpx.get(info["url"] + "/_sandbox/faults").json()["rate"] == 0.1
        web = WebClient(token=info["slack_bot_token"], base_url=info["slack_api_url"])
        assert web.auth_test()["team_id"] == info["workspace_id"]  # fault seed 0 spares the first request
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
