"""The matching run over a warehouse holding a tiny sandbox world's ground truth: every unit gets
one decision, references are right, re-runs process only new or changed units and leave the
other decisions exactly as they were."""
from __future__ import annotations

import shutil

import pytest

from connectors.sandbox.world import World
from pmflow.matching.calibration import github_truth, sandbox_warehouse, slack_truth
from pmflow.matching.decide import DECISIONS, METHODS
from pmflow.matching.engine import match_workspace, matching_workspaces
from pmflow.matching_settings import MatchSettings
from warehouse import Warehouse

LINKS = ("SELECT source_kind, source_id, decision, ticket_id, method, score, reason, decided_at, fingerprint "
         "FROM marts.ticket_links ORDER BY source_id")


@pytest.fixture(scope="module")
def world():
    return World.generate(7, "tiny")


@pytest.fixture(scope="module")
def loaded(world, tmp_path_factory):
    """The ground truth loaded once; each test gets its own copy of the file."""
    path = tmp_path_factory.mktemp("truth") / "warehouse.duckdb"
    sandbox_warehouse(world, path)
    return path


@pytest.fixture
def wh(loaded, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(loaded, path)
    return Warehouse(path)


def test_every_unit_gets_one_decision_and_references_are_right(world, wh):
    report, decisions = match_workspace(wh, world.workspace_id, MatchSettings())
    units = wh.query("SELECT count(*), count(DISTINCT source_id) FROM staging.match_units")[0]
    rows = wh.query(LINKS)
    assert report.units == units[0] == units[1] == len(rows) == len(decisions) > 0
    assert {r[0] for r in rows} <= {"slack_thread", "slack_message", "github_pr", "github_issue"}
    assert {r[2] for r in rows} <= set(DECISIONS) and {r[4] for r in rows} <= set(METHODS)
    assert all((r[3] is None) == (r[2] in ("new_work", "not_work")) for r in rows)
    assert all(0.0 <= r[5] <= 1.0 for r in rows)
    truth = {**{k: v["ticket"] for k, v in slack_truth(world).items()}, **github_truth(world)}
    references = [d for d in decisions if d.method == "reference"]
    assert references, "the tiny world cites tickets"
    assert all(d.ticket.identifier == truth[d.unit.source_id] for d in references if d.unit.source_id in truth)
    assert matching_workspaces(wh) == [world.workspace_id]


def test_a_second_run_processes_nothing_and_changes_nothing(world, wh):
    match_workspace(wh, world.workspace_id, MatchSettings())
    before = wh.query(LINKS)
    report, decisions = match_workspace(wh, world.workspace_id, MatchSettings())
    assert (report.units, decisions) == (0, [])
    assert wh.query(LINKS) == before


def test_only_a_changed_unit_is_decided_again(world, wh):
    match_workspace(wh, world.workspace_id, MatchSettings())
    before = {r[1]: r for r in wh.query(LINKS)}
    channel, ts = wh.query(
        "SELECT channel_id, ts FROM core.slack_messages WHERE thread_ts IS NULL AND NOT is_deleted ORDER BY ts LIMIT 1")[0]
    ticket = wh.query("SELECT identifier FROM core.linear_issues ORDER BY identifier LIMIT 1")[0][0]
    wh.run_sql("UPDATE core.slack_messages SET text = ? WHERE channel_id = ? AND ts = ?",
               [f"edited: this is {ticket}", channel, ts])
    report, decisions = match_workspace(wh, world.workspace_id, MatchSettings())
    assert report.units == 1 and decisions[0].unit.source_id == f"{channel}:{ts}"
    after = {r[1]: r for r in wh.query(LINKS)}
    assert after[f"{channel}:{ts}"][2:5] == ("linked", ticket, "reference")
    assert {k: v for k, v in after.items() if k != f"{channel}:{ts}"} == {
        k: v for k, v in before.items() if k != f"{channel}:{ts}"}


def test_a_message_that_gains_replies_keeps_one_row(world, wh):
    match_workspace(wh, world.workspace_id, MatchSettings())
    channel, ts = wh.query(
        "SELECT channel_id, ts FROM core.slack_messages WHERE thread_ts IS NULL AND NOT is_deleted ORDER BY ts LIMIT 1")[0]
    reply_ts = f"{int(float(ts)) + 60}.000001"
    wh.run_sql("UPDATE core.slack_messages SET thread_ts = ts, reply_count = 1 WHERE channel_id = ? AND ts = ?",
               [channel, ts])
    wh.run_sql("INSERT INTO core.slack_messages (workspace_id, channel_id, ts, thread_ts, "
                   "user_id, subtype, text, posted_at, edited_at, is_deleted, reply_count, latest_reply) VALUES (?, ?, ?, ?, 'U1', NULL, 'any update on this?', "
               "to_timestamp(?), NULL, false, 0, NULL)", [world.workspace_id, channel, reply_ts, ts, float(reply_ts)])
    report, _ = match_workspace(wh, world.workspace_id, MatchSettings())
    rows = wh.query("SELECT source_kind FROM marts.ticket_links WHERE source_id = ?", [f"{channel}:{ts}"])
    assert report.units == 1 and rows == [("slack_thread",)]


def test_a_workspace_without_tickets_is_left_undecided(world, wh):
    wh.run_sql("DELETE FROM core.linear_issues")
    report, decisions = match_workspace(wh, world.workspace_id, MatchSettings())
    assert report.skipped and "PMFLOW_MATCH_TICKET_WORKSPACE" in report.skipped and decisions == []
    assert wh.query("SELECT count(*) FROM marts.ticket_links")[0][0] == 0


def test_tickets_may_live_under_another_workspace_id(world, wh):
    wh.run_sql("UPDATE core.linear_issues SET workspace_id = 'linear-org'")
    settings = MatchSettings(ticket_workspace="linear-org")
    report, _ = match_workspace(wh, world.workspace_id, settings)
    assert report.skipped is None and report.tickets == len(world.tickets)
    assert wh.query("SELECT DISTINCT workspace_id FROM marts.ticket_links") == [(world.workspace_id,)]


def test_an_incremental_run_decides_as_a_full_run(world, wh):
    """Units decided alone (the others already decided) rank against the same ticket documents,
    reference-linked text included, so their decisions equal the full run's."""
    match_workspace(wh, world.workspace_id, MatchSettings())
    full = {r[1]: r[2:6] for r in wh.query(LINKS)}
    redo = [r[0] for r in wh.query("SELECT source_id FROM marts.ticket_links WHERE method NOT IN ('reference', 'rules') "
                                   "ORDER BY source_id LIMIT 5")]
    wh.run_sql("DELETE FROM ops.match_fingerprints WHERE source_id IN (SELECT unnest(?))", [redo])
    report, decisions = match_workspace(wh, world.workspace_id, MatchSettings())
    assert report.units == len(redo) > 0
    assert {d.unit.source_id: (d.decision, d.ticket.identifier if d.ticket else None, d.method, d.score)
            for d in decisions} == {k: full[k] for k in redo}


def test_threads_linking_a_pull_request_inherit_the_ticket_it_cites(tmp_path):
    """The default world's replies link real pull requests; those whose branch, title or body cite
    a ticket make their threads explicit references to it, all of them right."""
    world = World.generate(7, "default")
    wh = sandbox_warehouse(world, tmp_path / "warehouse.duckdb")
    _, decisions = match_workspace(wh, world.workspace_id, MatchSettings())
    truth = slack_truth(world)
    via_pulls = [d for d in decisions if d.unit.is_slack and d.method == "reference" and "which cites" in d.reason]
    assert len(via_pulls) > 10
    assert all(d.ticket.identifier == truth[d.unit.source_id]["ticket"] for d in via_pulls)


def _post(wh, world, text: str) -> str:
    """A new top-level Slack message; returns its unit's source_id."""
    channel = wh.query("SELECT channel_id FROM core.slack_messages ORDER BY channel_id LIMIT 1")[0][0]
    ts = f"{int(world.now.timestamp()) - 3600}.000042"
    wh.run_sql("INSERT INTO core.slack_messages (workspace_id, channel_id, ts, thread_ts, user_id, subtype, text, "
               "posted_at, edited_at, is_deleted, reply_count, latest_reply) "
               "VALUES (?, ?, ?, NULL, 'U1', NULL, ?, to_timestamp(?), NULL, false, 0, NULL)",
               [world.workspace_id, channel, ts, text, float(ts)])
    return f"{channel}:{ts}"


def _forget_matching(wh) -> None:
    """The warehouse as before any matching run."""
    for table in ("marts.ticket_links", "ops.match_fingerprints", "ops.match_seen_tickets"):
        wh.run_sql(f"DELETE FROM {table}")


def _decision(wh, source_id: str) -> tuple:
    return wh.query("SELECT decision, ticket_id, method FROM marts.ticket_links WHERE source_id = ?", [source_id])[0]


def test_a_message_linking_a_pull_request_ingested_later_is_linked_when_it_arrives(world, wh):
    """Slack is often ingested before GitHub: the thread is decided without the PR, and decided
    again, by reference, on the run that brings the PR in; later runs leave it alone."""
    match_workspace(wh, world.workspace_id, MatchSettings())
    pull, url, ticket = wh.query(
        "SELECT l.source_id, u.url, l.ticket_id FROM marts.ticket_links AS l JOIN staging.match_units AS u "
        "USING (workspace_id, source_id) WHERE l.source_kind = 'github_pr' AND l.method = 'reference' "
        "ORDER BY l.source_id LIMIT 1")[0]
    repo, number = pull.split("#")
    _forget_matching(wh)
    wh.run_sql("CREATE TABLE held AS SELECT * FROM core.github_pull_requests WHERE repo = ? AND number = ?",
               [repo, int(number)])
    wh.run_sql("DELETE FROM core.github_pull_requests WHERE repo = ? AND number = ?", [repo, int(number)])
    message = _post(wh, world, f"checkout is broken again, is <{url}> related?")
    match_workspace(wh, world.workspace_id, MatchSettings())
    assert _decision(wh, message)[2] != "reference"

    wh.run_sql("INSERT INTO core.github_pull_requests SELECT * FROM held")
    report, decisions = match_workspace(wh, world.workspace_id, MatchSettings())
    assert sorted(d.unit.source_id for d in decisions) == sorted([pull, message])
    assert _decision(wh, message) == ("linked", ticket, "reference")
    before = wh.query(LINKS)
    assert match_workspace(wh, world.workspace_id, MatchSettings())[0].units == 0
    assert wh.query(LINKS) == before


def test_a_message_citing_a_ticket_ingested_later_is_linked_when_it_arrives(world, wh):
    """Nothing in Slack or GitHub changed, only Linear: the message citing the new ticket is decided
    again, by reference, with the recent retrieval decisions the ticket changes; the run after
    decides nothing."""
    ticket = wh.query("SELECT identifier FROM core.linear_issues ORDER BY created_at DESC LIMIT 1")[0][0]
    wh.run_sql("CREATE TABLE held AS SELECT * FROM core.linear_issues WHERE identifier = ?", [ticket])
    wh.run_sql("DELETE FROM core.linear_issues WHERE identifier = ?", [ticket])
    message = _post(wh, world, f"{ticket} is what we discussed yesterday")
    match_workspace(wh, world.workspace_id, MatchSettings())
    assert _decision(wh, message)[2] != "reference"
    by_retrieval = {r[0] for r in wh.query("SELECT source_id FROM marts.ticket_links "
                                           "WHERE method NOT IN ('reference', 'rules', 'llm')")}

    wh.run_sql("INSERT INTO core.linear_issues SELECT * FROM held")
    report, decisions = match_workspace(wh, world.workspace_id, MatchSettings())
    assert message in {d.unit.source_id for d in decisions} <= by_retrieval | {message}
    assert _decision(wh, message) == ("linked", ticket, "reference")
    assert match_workspace(wh, world.workspace_id, MatchSettings())[0].units == 0


def test_a_conversation_before_its_ticket_is_filed_is_decided_again_when_it_is(world, wh):
    """Talk often comes first: a unit the full run links to a ticket by retrieval, decided while
    that ticket did not exist yet, is decided again on the run that brings the ticket in, as the
    full run decided it; units older than recheck_days before the ticket are left alone."""
    match_workspace(wh, world.workspace_id, MatchSettings())
    full = {r[1]: r[2:6] for r in wh.query(LINKS)}
    retrieval_links = wh.query("SELECT source_id, ticket_id FROM marts.ticket_links WHERE decision = 'linked' "
                               "AND method NOT IN ('reference', 'rules') ORDER BY source_id")
    _forget_matching(wh)
    wh.run_sql("CREATE TABLE before_run AS SELECT * FROM core.linear_issues")
    for unit, ticket in retrieval_links:  # the first whose ticket, missing, leaves it untracked
        wh.run_sql("DELETE FROM core.linear_issues WHERE identifier = ?", [ticket])
        match_workspace(wh, world.workspace_id, MatchSettings())
        if _decision(wh, unit)[0] in ("new_work", "suggested"):
            break
        _forget_matching(wh)
        wh.run_sql("INSERT INTO core.linear_issues SELECT * FROM before_run WHERE identifier = ?", [ticket])
    else:
        pytest.fail("no retrieval link of the tiny world turns untracked without its ticket")

    wh.run_sql("INSERT INTO core.linear_issues SELECT * FROM before_run WHERE identifier = ?", [ticket])
    _, decisions = match_workspace(wh, world.workspace_id, MatchSettings())
    assert unit in {d.unit.source_id for d in decisions}
    assert {r[1]: r[2:6] for r in wh.query(LINKS)}[unit] == full[unit]

    # the same ticket filed 15 days after the unit started: rechecked within 16 days, not within 14
    wh.run_sql("UPDATE core.linear_issues SET created_at = (SELECT source_at FROM marts.ticket_links "
               "WHERE source_id = ?) + INTERVAL 15 DAY WHERE identifier = ?", [unit, ticket])
    for days, rechecked in ((14, False), (16, True)):
        stale = ("suggested", "NOPE-1")  # a decision no ranking makes: a recheck replaces it
        wh.run_sql("UPDATE marts.ticket_links SET decision = ?, ticket_id = ? WHERE source_id = ?", [*stale, unit])
        wh.run_sql("DELETE FROM ops.match_seen_tickets WHERE identifier = ?", [ticket])
        match_workspace(wh, world.workspace_id, MatchSettings(recheck_days=days))
        assert (_decision(wh, unit)[:2] != stale) is rechecked


def test_a_recheck_that_decides_as_before_rewrites_nothing(world, wh):
    """A new ticket rechecks the recent retrieval decisions; those it does not change keep their
    rows (decided_at included), so a ticket filed every hour does not churn the table."""
    match_workspace(wh, world.workspace_id, MatchSettings())
    before = wh.query(LINKS)
    wh.run_sql("DELETE FROM ops.match_seen_tickets WHERE identifier = "
               "(SELECT max(identifier) FROM core.linear_issues)")  # as if just filed
    report, decisions = match_workspace(wh, world.workspace_id, MatchSettings(recheck_days=10_000))
    assert "rank" in report.seconds and (report.units, decisions) == (0, [])  # ranked again, all as before
    assert wh.query(LINKS) == before
    assert match_workspace(wh, world.workspace_id, MatchSettings())[0].units == 0
