"""The standup flow end to end on the sandbox: the ingestion flows that exist fill a warehouse, the
flow writes one report per team, and posting to the sandbox's Slack is idempotent (a re-run updates
its message with chat.update; a post whose answer is lost is found again, never posted twice).

These tests assert structure, not text: the exact wording is pinned by the golden tests
(tests/unit/test_standup_golden.py) on a hand-built warehouse.
"""
from __future__ import annotations

import json
import shutil
import warnings

import pytest

from connectors.sandbox import World
from connectors.sandbox.faults import FaultPlan
from connectors.sandbox.slack_data import format_ts
from flows.standup import standup
from pmflow.reports.render import MAX_BLOCKS, MAX_SECTION_CHARS
from warehouse import Warehouse

CHANNEL = "general"


def ingest_what_exists(world: World) -> list[str]:
    """Runs each flow the code base has that feeds the standup: ingestion (Slack always; Linear and
    GitHub), then ticket matching, journeys and costs; returns the names of those that completed. A
    flow that is missing or fails is left out with a warning: this test is about the standup, which
    must work with whatever subset of the warehouse exists."""
    import importlib

    steps = [("flows.ingest", "ingest_slack", {}), ("flows.ingest", "ingest_linear", {}),
             ("flows.ingest", "ingest_github", {}), ("flows.match_tickets", "match_tickets", {}),
             ("flows.journeys", "journeys", {"as_of": world.now}),
             ("flows.costs", "costs", {"as_of": world.now.date(), "now": world.now.timestamp()})]
    done = []
    for module_name, name, kwargs in steps:
        try:
            flow_fn = getattr(importlib.import_module(module_name), name)
        except (ImportError, AttributeError):
            continue
        state = flow_fn(**kwargs, return_state=True)
        if state.is_completed():
            done.append(name)
        else:
            warnings.warn(f"{name} did not complete ({state.message}); the standup runs without it")
    return done


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(seed=7, size="tiny")


@pytest.fixture(scope="module")
def ingested_template(world, prefect_api_url, tmp_path_factory):
    """One sandbox for the module, and a warehouse the ingestion flows filled once; each test works
    on its own copy of that warehouse."""
    from connectors.sandbox.server import SandboxServer

    directory = tmp_path_factory.mktemp("standup-sandbox")
    template = directory / "warehouse.duckdb"
    with SandboxServer(world) as server, pytest.MonkeyPatch.context() as patch:
        for name, value in sandbox_env(server, world).items():
            patch.setenv(name, value)
        patch.setenv("PMFLOW_WAREHOUSE", str(template))
        # Costs: the sandbox organisation's usage, under the demo's workspace id, with a budget.
        (directory / "budgets.yaml").write_text("budgets:\n  - name: total\n    monthly_limit_usd: 60\n")
        try:
            from connectors.sandbox.openai_data import ADMIN_KEY
        except ImportError:  # pragma: no cover
            ADMIN_KEY = "sk-admin-sandbox"
        for name, value in {"OPENAI_ADMIN_KEY": ADMIN_KEY, "OPENAI_BASE_URL": server.openai_base_url,
                            "PMFLOW_WORKSPACE_ID": world.workspace_id, "PMFLOW_BUDGETS": str(directory / "budgets.yaml"),
                            "PMFLOW_COST_CHARTS_DIR": str(directory / "charts"),
                            "PMFLOW_JOURNEY_CHARTS_DIR": str(directory / "charts")}.items():
            patch.setenv(name, value)
        patch.delenv("OPENAI_API_KEY", raising=False)
        patch.delenv("PMFLOW_ALERT_CHANNEL", raising=False)
        sources = ingest_what_exists(world)
        assert "ingest_slack" in sources
        yield server, template, sources


def sandbox_env(server, world: World) -> dict[str, str]:
    env = {"SLACK_API_URL": server.slack_api_url, "SLACK_BOT_TOKEN": world.slack_bot_token}
    names = {getattr(s, "name", None) for s in getattr(server, "_services", [])}
    if "linear" in names:
        env.update(LINEAR_API_URL=server.linear_api_url, LINEAR_API_KEY=world.linear_api_key,
                   LINEAR_WORKSPACE_ID=world.workspace_id)
    if "github" in names:
        env.update(GITHUB_API_URL=server.github_api_url, GITHUB_TOKEN=world.github_token,
                   GITHUB_REPOS=",".join(world.github_repos), GITHUB_WORKSPACE_ID=world.workspace_id)
    return env


@pytest.fixture
def ingested(ingested_template, world, monkeypatch, tmp_path):
    server, template, sources = ingested_template
    for name in ("PMFLOW_STANDUP_CHANNEL", "PMFLOW_STANDUP_TEAMS", "PMFLOW_STANDUP_AS_OF", "OPENAI_API_KEY",
                 "PMFLOW_STANDUP_TEAM_CHANNELS", "PMFLOW_STANDUP_HOLIDAYS", "PMFLOW_STANDUP_HOLIDAY_COUNTRY",
                 "PMFLOW_STANDUP_TEAM_TIMEZONES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PMFLOW_STANDUP_SUMMARY", "false")
    for name, value in sandbox_env(server, world).items():
        monkeypatch.setenv(name, value)
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(template, copy)
    monkeypatch.setenv("PMFLOW_WAREHOUSE", str(copy))
    server.faults = None
    server.reset_stats()
    yield server, sources
    server.faults = None


def stored(kind: str = "daily") -> list[dict]:
    with Warehouse().read(sandboxed=False) as con:
        cursor = con.execute("SELECT * FROM marts.standups WHERE kind = ? ORDER BY team", [kind])
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]


def bot_messages(world: World) -> list:
    channel = next(c for c in world.slack.channels.values() if c.name == CHANNEL)
    bot = world.slack.app_bot.user_id
    return [m for m in channel.by_ts.values() if m.user == bot and m.blocks]


def check_limits(blocks: list[dict]) -> None:
    assert 0 < len(blocks) <= MAX_BLOCKS
    assert blocks[0]["type"] == "header"
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_CHARS


def test_one_report_per_team_with_every_section_within_slack_limits(ingested, world):
    from prefect.artifacts import Artifact

    _, sources = ingested
    result = standup(as_of=world.now)
    rows = stored()
    with Warehouse().read(sandboxed=False) as con:
        from pmflow.reports.data import ReportData

        available = ReportData(con).available(world.workspace_id)
    # Each section shows data, or says which source it lacks, according to what the flows wrote.
    expectations = {"marts.cost_daily": "no cost data yet", "marts.ticket_links": "no ticket matching yet",
                    "core.linear_issues": "no Linear data yet", "core.github_pull_requests": "no GitHub data yet"}
    for row in rows:
        for source, note in expectations.items():
            assert (note in row["markdown"]) != available[source], (source, sources)
    assert rows and len(rows) == len(result["reports"])
    sections = ("## 🎯 Focus today", "## 💸 AI spend")
    for row in rows:
        assert row["workspace_id"] == world.workspace_id and row["report_date"] is not None
        markdown = row["markdown"]
        assert markdown.startswith("# ") and all(s in markdown for s in sections), markdown[:400]
        if not row["quiet"]:
            for title in ("## ✅ Done since", "## 🔨 In progress", "## ⏭️ Up next", "## 🚧 Blocked or stuck",
                          "## 💬 Untracked work", "## 🙋 Waiting for a human", "## 👥 By person"):
                assert title in markdown, (title, markdown[:400])
        check_limits(json.loads(row["blocks_json"]))
        assert row["posted_at"] is None and row["slack_ts"] is None  # dry run by default
        artifact = Artifact.get(f"standup-{row['team'].lower()}")
        assert artifact is not None and artifact.data == markdown
    # Generating again replaces the reports (same keys), it does not add rows.
    standup(as_of=world.now)
    assert len(stored()) == len(rows)


def test_the_weekly_digest(ingested, world):
    from prefect.artifacts import Artifact

    result = standup(weekly=True, as_of=world.now)
    rows = stored("weekly")
    assert len(rows) == len(result["reports"]) > 0
    for row in rows:
        for title in ("## 🏁 Accomplishments", "## ⏱️ Cycle-time trend", "## 🔀 Funnel changes",
                      "## 💬 Top untracked conversations", "## 💸 AI cost summary"):
            assert title in row["markdown"]
        check_limits(json.loads(row["blocks_json"]))
        assert Artifact.get(f"digest-{row['team'].lower()}").data == row["markdown"]


def test_a_retried_post_updates_the_same_message(ingested, world, monkeypatch):
    server, _ = ingested
    monkeypatch.setenv("PMFLOW_STANDUP_CHANNEL", CHANNEL)
    before = len(bot_messages(world))

    first = standup(post=True, as_of=world.now)
    teams = len(first["reports"])
    assert teams > 0 and all(r["post"]["action"] == "posted" for r in first["reports"])
    requests = server.stats()["requests"]["slack"]
    assert requests.get("chat.postMessage") == teams and "chat.update" not in requests
    assert len(bot_messages(world)) == before + teams

    second = standup(post=True, as_of=world.now)  # a retried run
    assert [r["post"]["action"] for r in second["reports"]] == ["updated"] * teams
    assert [r["post"]["ts"] for r in second["reports"]] == [r["post"]["ts"] for r in first["reports"]]
    requests = server.stats()["requests"]["slack"]
    assert requests.get("chat.postMessage") == teams and requests.get("chat.update") == teams
    messages = {format_ts(m.ts): m for m in bot_messages(world)}
    assert len(messages) == before + teams
    assert all(messages[r["post"]["ts"]].edited for r in second["reports"])
    for row in stored():
        assert row["post_count"] == 1 and row["update_count"] == 1
        assert messages[row["slack_ts"]].blocks == json.loads(row["blocks_json"])


@pytest.mark.parametrize("fault", ["reset", "malformed_json"])
def test_a_post_whose_answer_is_lost_is_recovered_not_posted_twice(ingested, world, monkeypatch, fault):
    server, _ = ingested
    monkeypatch.setenv("PMFLOW_STANDUP_CHANNEL", CHANNEL)
    # Every chat.postMessage is handled by the sandbox, then its answer is lost (connection reset, or
    # a body cut in half); a retry of the same request would be answered.
    server.faults = FaultPlan(rate=1.0, kinds=(fault,), endpoints=frozenset({"chat.postMessage"}), max_consecutive=1)
    before = len(bot_messages(world))

    result = standup(post=True, as_of=world.now)

    teams = len(result["reports"])
    assert teams > 0 and [r["post"]["action"] for r in result["reports"]] == ["recovered"] * teams
    requests = server.stats()["requests"]["slack"]
    assert requests["chat.postMessage"] == teams and requests["chat.update"] == teams
    assert server.stats()["faults"] == {fault: teams}
    assert len(bot_messages(world)) == before + teams
    for row, report in zip(stored(), result["reports"]):
        assert row["slack_ts"] == report["post"]["ts"] and row["post_count"] == 1


def test_the_ai_summary_uses_the_configured_model_and_records_its_usage(ingested, world, monkeypatch):
    server, _ = ingested
    monkeypatch.setenv("PMFLOW_STANDUP_SUMMARY", "true")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-sandbox-standup-test")
    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)

    result = standup(as_of=world.now)

    assert all(r["summary"] for r in result["reports"])
    for row in stored():
        assert "_AI summary (gpt-4o-mini)_" in row["markdown"]
    with Warehouse().read(sandboxed=False) as con:
        usage = con.execute("SELECT count(*), min(source), min(flow_name), sum(input_tokens) FROM core.llm_usage "
                            "WHERE agent = 'standup-summary'").fetchone()
    assert usage[0] == len(result["reports"]) and usage[1:3] == ("pipeline", "standup") and usage[3] > 0
