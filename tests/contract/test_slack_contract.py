"""Every Slack method the connector calls, with every parameter it sends, exists in the official Web
API description (../shared/contracts/slack). The HTTP verb is not compared: slack-sdk sends every
call as POST, which Slack accepts for all methods."""
from __future__ import annotations

import json
import pytest

from connectors.sandbox import CONTRACTS_DIR
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.world import World
from tasks.slack import SOURCE, slack_client, sync_channel_messages
from warehouse import Warehouse

SPEC = CONTRACTS_DIR / "slack" / "slack_web_openapi_v2.json"


@pytest.fixture(scope="module")
def spec_parameters() -> dict[str, set[str]]:
    """Method name -> parameter names, from the OpenAPI description."""
    spec = json.loads(SPEC.read_text())
    return {
        path.lstrip("/"): {p["name"] for operation in operations.values() for p in operation.get("parameters", [])}
        for path, operations in spec["paths"].items()
    }


def test_every_call_the_connector_makes_is_in_the_contract(spec_parameters, tmp_path, monkeypatch):
    world = World.generate(seed=3, size="tiny")
    with SandboxServer(world) as server:
        monkeypatch.setenv("SLACK_API_URL", server.slack_api_url)
        monkeypatch.setenv("SLACK_BOT_TOKEN", world.slack_bot_token)
        monkeypatch.setenv("SLACK_PAGE_SIZE", "7")  # several pages, so cursors are sent too
        client, wh = slack_client(), Warehouse(tmp_path / "w.duckdb")
        workspace = client.workspace()
        channels = [c["id"] for page in client.channels() for c in page]
        list(client.users())
        for rescan in (0, 86400):  # a full sync, then an incremental one (oldest + inclusive)
            for channel in channels:
                sync_channel_messages(client, wh, workspace.workspace_id, channel, rescan_s=rescan)
        posted = client.post_message(channels[0], "standup", blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}])
        client.update_message(channels[0], posted["ts"], "standup (updated)")
        log = list(server.request_log)

    assert wh.cursors(workspace.workspace_id, SOURCE, "messages")
    called = {r.endpoint for r in log if r.service == "slack"}
    assert called >= {"auth.test", "conversations.list", "users.list", "conversations.history",
                                       "conversations.replies", "chat.postMessage", "chat.update"}
    for request in log:
        assert request.endpoint in spec_parameters, f"{request.endpoint} is not in the Slack Web API description"
        unknown = set(request.params) - spec_parameters[request.endpoint]
        assert not unknown, f"{request.endpoint} sent parameters the contract does not know: {unknown}"
    sent = {p for r in log for p in r.params}
    assert {"cursor", "limit", "oldest", "inclusive", "ts", "channel", "blocks"} <= sent
