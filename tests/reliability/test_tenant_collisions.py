"""Two workspaces with the same channel ids, ticket identifiers, Linear ids and repositories never mix.

The collision is built for real: one world (seed 7) served twice by two SandboxServers, the second
under another Slack team id; Linear and GitHub are identical in both (same organization id, issue
ids, identifiers, repository names and numbers) and are stored under each workspace's team id
(<NAME>_LINEAR_WORKSPACE_ID, <NAME>_GITHUB_WORKSPACE_ID), as a company with two Slack workspaces
would configure them. Both are ingested through the multi-workspace configuration (PMFLOW_WORKSPACES,
per-workspace prefixes) into one warehouse; then only the second changes.
"""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from connectors.sandbox.server import SandboxServer
from connectors.sandbox.world import World
from tasks.fanout import GroupCommitWarehouse, github_repo, github_repos, linear_workspace, slack_channel, slack_setup
from warehouse import Warehouse

TWIN_TEAM = "TTWIN00002"
SCHEMAS = ("core", "marts")


@pytest.fixture
def twins(monkeypatch, tmp_path):
    a, b = World.generate(7, "tiny"), World.generate(7, "tiny")
    b.slack.team_id = TWIN_TEAM
    servers = [SandboxServer(w).start() for w in (a, b)]
    monkeypatch.setenv("PMFLOW_WORKSPACES", "acme,twin")
    monkeypatch.setenv("PMFLOW_SECRET_BLOCKS", "0")
    for prefix, world, server in (("ACME", a, servers[0]), ("TWIN", b, servers[1])):
        monkeypatch.setenv(f"{prefix}_SLACK_BOT_TOKEN", world.slack_bot_token)
        monkeypatch.setenv(f"{prefix}_SLACK_API_URL", server.slack_api_url)
        monkeypatch.setenv(f"{prefix}_LINEAR_API_KEY", world.linear_api_key)
        monkeypatch.setenv(f"{prefix}_LINEAR_API_URL", server.linear_api_url)
        monkeypatch.setenv(f"{prefix}_LINEAR_WORKSPACE_ID", world.workspace_id)
        monkeypatch.setenv(f"{prefix}_GITHUB_TOKEN", world.github_token)
        monkeypatch.setenv(f"{prefix}_GITHUB_API_URL", server.github_api_url)
        monkeypatch.setenv(f"{prefix}_GITHUB_REPOS", ",".join(world.github_repos))
        monkeypatch.setenv(f"{prefix}_GITHUB_WORKSPACE_ID", world.workspace_id)
    yield a, b, GroupCommitWarehouse(tmp_path / "warehouse.duckdb")
    for server in servers:
        server.stop()


def ingest(name: str, wh: Warehouse) -> None:
    plan = slack_setup(name, wh)
    for channel_id in plan.channel_ids:
        slack_channel(name, plan.workspace_id, channel_id, wh)
    linear_workspace(name, wh)
    workspace_id, repos = github_repos(name)
    for repo in repos:
        github_repo(name, workspace_id, repo, wh)


def build_marts(wh: Warehouse, as_of: datetime) -> None:
    from pmflow.journeys.build import JourneyParams, build_journeys
    from pmflow.journeys.stages import load_stage_config

    with wh.connect() as con:
        build_journeys(con, load_stage_config(), JourneyParams(as_of=as_of))


def tenant_tables(wh: Warehouse) -> list[str]:
    rows = wh.query(
        "SELECT DISTINCT table_schema || '.' || table_name FROM information_schema.columns "
        "WHERE column_name = 'workspace_id' AND table_schema IN ('core', 'marts') "
        "AND table_name IN (SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE') "
        "ORDER BY 1")
    return [r[0] for r in rows]


def rows_of(wh: Warehouse, table: str, workspace_id: str) -> list[tuple]:
    """The workspace's rows without workspace_id (every column as text), sorted: comparable across tenants."""
    columns = wh.query(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema || '.' || table_name = ? "
        "AND column_name <> 'workspace_id' ORDER BY ordinal_position", [table])
    # a MAP's text lists its entries in no fixed order: sort them
    select = ", ".join(f'CAST(list_sort(map_entries("{c}")) AS VARCHAR)' if kind.startswith("MAP") else
                       f'CAST("{c}" AS VARCHAR)' for c, kind in columns)
    rows = [tuple(_fuzz(v) for v in r) for r in wh.query(f"SELECT {select} FROM {table} WHERE workspace_id = ?",
                                                            [workspace_id])]
    return sorted(rows, key=lambda r: tuple("" if v is None else v for v in r))


_LONG_FLOAT = re.compile(r"\d+\.\d{7,}")


def _fuzz(value: str | None) -> str | None:
    """Doubles to 6 decimals: the marts sum hours in parallel, so the last bits vary between builds."""
    return None if value is None else _LONG_FLOAT.sub(lambda m: f"{float(m.group()):.6f}", value)


def snapshot(wh: Warehouse, workspace_id: str) -> dict[str, list[tuple]]:
    return {t: rows_of(wh, t, workspace_id) for t in tenant_tables(wh)}


def test_twin_workspaces_are_stored_apart_and_a_change_in_one_never_touches_the_other(twins):
    a, b, wh = twins
    for name in ("acme", "twin"):
        ingest(name, wh)
    build_marts(wh, a.now)

    first_a, first_b = snapshot(wh, a.workspace_id), snapshot(wh, TWIN_TEAM)
    must_hold = ["core.slack_channels", "core.slack_users", "core.slack_messages", "core.linear_issues",
                 "core.linear_issue_history", "core.linear_comments", "core.github_pull_requests",
                 "core.github_issues", "marts.ticket_stage_intervals", "marts.ticket_journeys"]
    for table in must_hold:
        assert first_a[table], f"{table} is empty: the collision would prove nothing"
    # identical content under two workspace ids: nothing merged into the other tenant's keys
    assert first_a == first_b
    assert wh.query("SELECT count(DISTINCT workspace_id) FROM core.slack_messages") == [(2,)]
    assert len(a.expected_slack_messages()) == len(first_a["core.slack_messages"])
    cursors = wh.query("SELECT workspace_id, count(*) FROM ops.sync_state GROUP BY 1 ORDER BY 1")
    assert [c for _, c in cursors] == [cursors[0][1]] * 2

    # change the twin only: a message edited, a ticket moved, a PR retitled
    message = max((r for r in b.expected_slack_messages() if r["thread_ts"] is None and not r["is_deleted"]),
                  key=lambda r: float(r["ts"]))  # the newest: inside the re-scan window, so its edit is seen
    b.edit_message(message["channel_id"], message["ts"], "only the twin says this")
    ticket = b.tickets[0].identifier
    b.move_ticket(ticket, back=True)
    repo = b.github_repos[0]
    number = wh.query("SELECT min(number) FROM core.github_pull_requests WHERE workspace_id = ? AND repo = ?",
                      [TWIN_TEAM, repo])[0][0]
    b.github_update_pr(repo, number, title="twin-only title")
    for name in ("acme", "twin"):
        ingest(name, wh)
    build_marts(wh, a.now)

    assert snapshot(wh, a.workspace_id) == first_a, "acme changed although only the twin did"
    second_b = snapshot(wh, TWIN_TEAM)
    assert second_b != first_b
    text = "SELECT text FROM core.slack_messages WHERE workspace_id = ? AND channel_id = ? AND ts = ?"
    assert wh.query(text, [TWIN_TEAM, message["channel_id"], message["ts"]]) == [("only the twin says this",)]
    assert wh.query(text, [a.workspace_id, message["channel_id"], message["ts"]]) == [(message["text"],)]
    title = "SELECT title FROM core.github_pull_requests WHERE workspace_id = ? AND repo = ? AND number = ?"
    assert wh.query(title, [TWIN_TEAM, repo, number]) == [("twin-only title",)]
    assert wh.query(title, [a.workspace_id, repo, number]) != [("twin-only title",)]
    history = "SELECT count(*) FROM core.linear_issue_history h JOIN core.linear_issues i USING (workspace_id, issue_id) " \
              "WHERE workspace_id = ? AND i.identifier = ?"
    assert wh.query(history, [TWIN_TEAM, ticket])[0][0] == wh.query(history, [a.workspace_id, ticket])[0][0] + 1
