"""Journey marts on tiny hand-built histories; every expected figure is worked out by hand.

Times are hours after T0 = Monday 2024-01-01 00:00 UTC (h(10) is 10:00 that day). Default stage
model: Discovery(1) Planning(2) Execution(3) Validation(4) Delivery(5, done) Closure(6, closed).
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pyarrow as pa
import pytest

from pmflow.journeys.build import JourneyParams, build_journeys, unmapped_states
from pmflow.journeys.stages import load_stage_config
from warehouse import Batch, Warehouse

T0 = datetime(2024, 1, 1, tzinfo=UTC)
WS = "ws1"
TYPES = {"Triage": "triage", "Backlog": "backlog", "Todo": "unstarted", "In Progress": "started",
         "Blocked": "started", "In Review": "started", "Done": "completed", "Canceled": "canceled",
         "Limbo": "custom"}


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def ticket(ticket_id, path, *, team="ENG", ws=WS, creation_entry=True, archived_at=None, created_at=None):
    """Rows for one ticket. `path` is [(time, state name), ...]: the state it was created in, then each
    change. With creation_entry the history starts with Linear's creation entry (from_state NULL);
    without, the first change's from_state tells the initial state."""
    created = created_at or path[0][0]
    issue = {"workspace_id": ws, "issue_id": ticket_id, "identifier": f"{team}-{ticket_id}", "title": f"ticket {ticket_id}",
             "state_name": path[-1][1], "state_type": TYPES[path[-1][1]], "team_id": f"team-{team}", "team_key": team,
             "created_at": created, "updated_at": path[-1][0], "archived_at": archived_at}
    history = []
    if creation_entry:
        history.append(_change(ws, ticket_id, 0, None, path[0][1], path[0][0]))
    for n, ((_, before), (at, after)) in enumerate(pairwise(path), start=1):
        history.append(_change(ws, ticket_id, n, before, after, at))
    return issue, history


def _change(ws, ticket_id, n, before, after, at):
    return {"workspace_id": ws, "history_id": f"{ticket_id}-{n:02d}", "issue_id": ticket_id,
            "from_state": before, "from_state_type": TYPES.get(before), "to_state": after,
            "to_state_type": TYPES[after], "changed_at": at}


def load(wh: Warehouse, tickets, ws=WS, **extra):
    upserts = {"core.linear_issues": [t[0] for t in tickets],
               "core.linear_issue_history": [row for t in tickets for row in t[1]]}
    upserts.update(extra)
    wh.write(Batch(ws, "test", "journeys", upserts={k: v for k, v in upserts.items() if v}))


def build(wh: Warehouse, as_of: datetime, config=None, **params):
    with wh.connect() as con:
        build_journeys(con, config or load_stage_config(), JourneyParams(as_of=as_of, **params))


def rows(wh: Warehouse, sql: str, params=None) -> list[dict]:
    with wh.connect() as con:
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r)) for r in cursor.fetchall()]


def visits(wh, ticket_id, ws=WS):
    return [(r["stage"], r["entered_at"], r["exited_at"], r["hours_in_stage"], r["visit_number"])
            for r in rows(wh, "SELECT * FROM marts.ticket_stage_intervals WHERE workspace_id = ? AND ticket_id = ? "
                              "ORDER BY visit_seq", [ws, ticket_id])]


def journey(wh, ticket_id, ws=WS) -> dict:
    return rows(wh, "SELECT * FROM marts.ticket_journeys WHERE workspace_id = ? AND ticket_id = ?", [ws, ticket_id])[0]


# The main scenario: six tickets of team ENG, as of h(200).
A1 = ticket("A1", [(h(0), "Backlog"), (h(10), "Todo"), (h(30), "In Progress"), (h(50), "In Review"), (h(56), "Done")])
A2 = ticket("A2", [(h(0), "Todo"), (h(5), "In Progress"), (h(8), "Blocked"), (h(20), "In Review"), (h(24), "In Progress"),
                   (h(30), "In Review"), (h(33), "Done"), (h(40), "In Progress"), (h(45), "Done")])
A3 = ticket("A3", [(h(0), "Backlog"), (h(12), "Done")], creation_entry=False)
A4 = ticket("A4", [(h(0), "Todo"), (h(10), "In Progress"), (h(20), "Done"), (h(30), "Canceled")])
A5 = ticket("A5", [(h(100), "Backlog"), (h(110), "In Progress")])
A6 = ticket("A6", [(h(150), "Todo"), (h(190), "In Progress")])
AS_OF = h(200)


@pytest.fixture(scope="module")
def main(tmp_path_factory):
    wh = Warehouse(tmp_path_factory.mktemp("journeys") / "w.duckdb")
    load(wh, [A1, A2, A3, A4, A5, A6])
    build(wh, AS_OF)
    return wh


def test_straight_path_visits_each_stage_once(main):
    assert visits(main, "A1") == [
        ("Discovery", h(0), h(10), 10.0, 1),
        ("Planning", h(10), h(30), 20.0, 1),
        ("Execution", h(30), h(50), 20.0, 1),
        ("Validation", h(50), h(56), 6.0, 1),
        ("Delivery", h(56), None, 144.0, 1),  # current: 200 - 56 = 144 h up to as_of
    ]
    j = journey(main, "A1")
    assert (j["current_stage"], j["hours_in_current_stage"], j["reopen_count"]) == ("Delivery", 144.0, 0)
    # started at the first Execution entry h30, delivered h56: cycle 26 h; lead from creation h0: 56 h
    assert (j["started_at"], j["delivered_at"], j["cycle_hours"], j["lead_hours"]) == (h(30), h(56), 26.0, 56.0)
    assert j["completion_probability"] == 1.0 and j["at_risk"] is False


def test_reopen_loops_are_kept_and_consecutive_states_of_one_stage_merge(main):
    assert visits(main, "A2") == [
        ("Planning", h(0), h(5), 5.0, 1),
        ("Execution", h(5), h(20), 15.0, 1),  # In Progress h5 + Blocked h8: both Execution, one visit
        ("Validation", h(20), h(24), 4.0, 1),
        ("Execution", h(24), h(30), 6.0, 2),  # back from review
        ("Validation", h(30), h(33), 3.0, 2),
        ("Delivery", h(33), h(40), 7.0, 1),
        ("Execution", h(40), h(45), 5.0, 3),  # reopened after delivery
        ("Delivery", h(45), None, 155.0, 2),  # 200 - 45
    ]
    reopen = rows(main, "SELECT visit_seq FROM marts.ticket_stage_intervals WHERE ticket_id = 'A2' AND is_reopen")
    assert reopen == [{"visit_seq": 7}]
    j = journey(main, "A2")
    assert j["reopen_count"] == 1 and j["visits"] == 8 and j["stages_visited"] == 4
    # Execution: 15 + 6 + 5 = 26 h over 3 visits, latest 5 h; Validation: 4 + 3 = 7 h, latest 3 h
    assert (j["stages"]["Execution"]["cumulative_hours"], j["stages"]["Execution"]["latest_hours"],
            j["stages"]["Execution"]["visits"]) == (26.0, 5.0, 3)
    assert (j["stages"]["Validation"]["cumulative_hours"], j["stages"]["Validation"]["latest_hours"]) == (7.0, 3.0)
    # cycle: first Execution entry h5 -> last delivery h45 = 40 h; lead 45 h
    assert (j["delivered_at"], j["cycle_hours"], j["lead_hours"]) == (h(45), 40.0, 45.0)


def test_skipped_stages_and_a_history_without_its_creation_entry(main):
    # No creation entry: the first change's from_state (Backlog) holds from created_at h0.
    assert visits(main, "A3") == [("Discovery", h(0), h(12), 12.0, 1), ("Delivery", h(12), None, 188.0, 1)]
    j = journey(main, "A3")
    # Never in a started stage: no cycle time, but a lead time of 12 h.
    assert (j["started_at"], j["cycle_hours"], j["lead_hours"]) == (None, None, 12.0)


def test_canceled_after_delivery_is_closed_not_delivered(main):
    assert [v[0] for v in visits(main, "A4")] == ["Planning", "Execution", "Delivery", "Closure"]
    j = journey(main, "A4")
    assert (j["current_stage"], j["is_closed"], j["delivered_at"], j["cycle_hours"]) == ("Closure", True, None, None)
    assert j["completion_probability"] == 0.0 and j["reopen_count"] == 0  # Delivery -> Closure is no reopen


def test_open_tickets_age_at_risk_and_completion_probability(main):
    # Finished Execution visits of team ENG: A1 20, A2 15 / 6 / 5, A4 10 -> sorted 5, 6, 10, 15, 20;
    # p80 (linear interpolation) at position 0.8 * 4 = 3.2: 15 + 0.2 * (20 - 15) = 16 h.
    stats = rows(main, "SELECT * FROM marts.journey_stage_stats WHERE stage = 'Execution'")[0]
    assert (stats["finished_visits"], stats["p50_hours"], stats["p80_hours"]) == (5, 10.0, pytest.approx(16.0))
    a5, a6 = journey(main, "A5"), journey(main, "A6")
    assert (a5["current_stage"], a5["hours_in_current_stage"]) == ("Execution", 90.0)  # since h110
    assert (a5["at_risk"], a5["stage_p80_hours"]) == (True, pytest.approx(16.0))  # 90 > 16, 5 visits >= 5
    assert (a6["hours_in_current_stage"], a6["at_risk"]) == (10.0, False)  # since h190; 10 <= 16
    # A6 (10 h in Execution): finished Execution visits of resolved tickets lasting >= 10 h:
    # A1 20 (delivered), A2 15 (delivered), A4 10 (closed) -> 2 of 3 went on to delivery.
    assert (a6["completion_probability"], a6["completion_sample"]) == (pytest.approx(2 / 3), 3)
    # A5 (90 h): no resolved visit lasted that long -> unknown.
    assert (a5["completion_probability"], a5["completion_sample"]) == (None, None)


def test_at_risk_needs_enough_finished_visits(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    load(wh, [A1, A2, A3, A4, A5, A6])
    build(wh, AS_OF, at_risk_min_visits=6)  # Execution has only 5 finished visits
    assert journey(wh, "A5")["at_risk"] is False


def test_funnel_conversion_and_median_time_to_convert(main):
    funnel = {r["stage"]: r for r in rows(main, "SELECT * FROM marts.journey_funnel WHERE team_key = 'ENG'")}
    assert set(funnel) == {"Discovery", "Planning", "Execution", "Validation", "Delivery"}  # no Closure row
    got = {s: (r["entered"], r["converted"], r["closed_without_converting"], r["still_open"], r["median_hours_to_convert"])
           for s, r in funnel.items()}
    # Discovery: A1 -> Planning after 10 h, A3 -> Delivery after 12 h (skipping counts), A5 -> Execution after 10 h
    assert got["Discovery"] == (3, 3, 0, 0, 10.0)
    # Planning: A1 20 h, A2 5 h, A4 10 h, A6 40 h -> median (10 + 20) / 2 = 15
    assert got["Planning"] == (4, 4, 0, 0, 15.0)
    # Execution (first entries): A1 -> Validation 20 h, A2 -> Validation 15 h, A4 -> Delivery 10 h; A5, A6 open
    assert got["Execution"] == (5, 3, 0, 2, 15.0)
    assert funnel["Execution"]["conversion_rate"] == pytest.approx(0.6)
    # Validation: A1 h50 -> h56 = 6 h, A2 first entry h20 -> Delivery h33 = 13 h -> median 9.5
    assert got["Validation"] == (2, 2, 0, 0, 9.5)
    # Delivery is the last open stage: entries only (A1, A2, A3, A4)
    assert got["Delivery"] == (4, None, None, None, None)
    assert funnel["Execution"]["next_stage"] == "Validation" and funnel["Delivery"]["next_stage"] is None
    everyone = rows(main, "SELECT entered, converted FROM marts.journey_funnel WHERE team_key IS NULL AND stage = 'Execution'")
    assert everyone == [{"entered": 5, "converted": 3}]  # one team: all-teams row equals it


def test_funnel_window_counts_only_recent_entries(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    load(wh, [A1, A2, A3, A4, A5, A6])
    build(wh, AS_OF, funnel_window_days=4)  # window (h104, h200]
    execution = rows(wh, "SELECT entered, converted, still_open FROM marts.journey_funnel "
                         "WHERE team_key = 'ENG' AND stage = 'Execution'")
    assert execution == [{"entered": 2, "converted": 0, "still_open": 2}]  # A5 at h110, A6 at h190


def test_cycle_time_weekly_percentiles(main):
    week = rows(main, "SELECT * FROM marts.cycle_time_weekly")
    assert len(week) == 1
    w = week[0]
    # Delivered A1 (h56), A2 (h45), A3 (h12): all in the week of Monday 2024-01-01 (UTC team).
    assert (w["week_start"], w["tickets_delivered"], w["tickets_with_cycle_time"]) == (date(2024, 1, 1), 3, 2)
    # cycle times 26, 40: p50 33, p85 26 + 0.85 * 14 = 37.9, p95 26 + 0.95 * 14 = 39.3
    assert (w["cycle_p50_hours"], w["cycle_p85_hours"], w["cycle_p95_hours"]) == pytest.approx((33.0, 37.9, 39.3))
    # lead times 12, 45, 56: p50 45, p85 at position 1.7: 45 + 0.7 * 11 = 52.7, p95 45 + 0.9 * 11 = 54.9
    assert (w["lead_p50_hours"], w["lead_p85_hours"], w["lead_p95_hours"]) == pytest.approx((45.0, 52.7, 54.9))


def test_timezone_boundaries_put_deliveries_in_the_team_week(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    sunday_late, monday_early = datetime(2024, 1, 7, 16, tzinfo=UTC), datetime(2024, 1, 8, 3, tzinfo=UTC)
    tickets = [
        # 2024-01-07 16:00 UTC is Monday 01:00 in Tokyo (+9): week of 2024-01-08 there, of 2024-01-01 in UTC.
        ticket("T1", [(h(0), "In Progress"), (sunday_late, "Done")], team="TOK"),
        # 2024-01-08 03:00 UTC is Sunday 22:00 in New York (-5): week of 2024-01-01 there.
        ticket("T2", [(h(0), "In Progress"), (monday_early, "Done")], team="NYC"),
        # Team without a timezone: UTC, so 2024-01-08 03:00 is in the week of 2024-01-08.
        ticket("T3", [(h(0), "In Progress"), (monday_early, "Done")], team="UTC"),
        # OPS is in Tokyo in Linear, but the config puts it in New York: week of 2024-01-01.
        ticket("T4", [(h(0), "In Progress"), (monday_early, "Done")], team="OPS"),
    ]
    teams = [{"workspace_id": WS, "team_id": f"team-{k}", "key": k, "name": k, "timezone": tz}
             for k, tz in (("TOK", "Asia/Tokyo"), ("NYC", "America/New_York"), ("OPS", "Asia/Tokyo"))]
    load(wh, tickets, **{"core.linear_teams": teams})
    config_file = tmp_path / "stages.yaml"
    config_file.write_text("teams:\n  OPS: {timezone: America/New_York}\n")
    build(wh, datetime(2024, 1, 10, tzinfo=UTC), load_stage_config(config_file), flow_days=5)
    weeks = {r["team_key"]: (r["week_start"], r["timezone"]) for r in rows(wh, "SELECT * FROM marts.cycle_time_weekly")}
    assert weeks == {"TOK": (date(2024, 1, 8), "Asia/Tokyo"), "NYC": (date(2024, 1, 1), "America/New_York"),
                     "UTC": (date(2024, 1, 8), "UTC"), "OPS": (date(2024, 1, 1), "America/New_York")}
    # Cumulative flow in Tokyo: as_of 2024-01-10 00:00 UTC is 09:00 on the 10th there, so days 6..10.
    # T1 is in Execution from the 1st 09:00 JST to Monday the 8th 01:00 JST, then in Delivery.
    flow = rows(wh, "SELECT day, stage, tickets FROM marts.journey_flow_daily WHERE team_key = 'TOK' "
                    "AND stage IN ('Execution', 'Delivery') ORDER BY day, stage_order")
    assert [(r["day"].day, r["stage"], r["tickets"]) for r in flow] == [
        (6, "Execution", 1), (6, "Delivery", 0), (7, "Execution", 1), (7, "Delivery", 0),
        (8, "Execution", 0), (8, "Delivery", 1), (9, "Execution", 0), (9, "Delivery", 1),
        (10, "Execution", 0), (10, "Delivery", 1)]


def test_open_pull_request_lifts_execution_to_validation_and_pr_cycle_time(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    p1 = ticket("P1", [(h(0), "Todo"), (h(10), "In Progress"), (h(32), "Done")])
    pulls = [
        # P1's PR: first commit h12, opened h20, reviewed h26 (and by its author at h22), merged h30.
        {"workspace_id": WS, "repo": "acme/api", "number": 7, "title": "Fix", "state": "closed", "author": "ann",
         "draft": False, "created_at": h(20), "updated_at": h(30), "merged_at": h(30), "closed_at": h(30),
         "first_commit_at": h(12)},
        # A draft PR still open is coding, not review: no lift.
        {"workspace_id": WS, "repo": "acme/api", "number": 8, "title": "WIP", "state": "open", "author": "ann",
         "draft": True, "created_at": h(2), "updated_at": h(2), "merged_at": None, "closed_at": None,
         "first_commit_at": h(1)},
    ]
    reviews = [
        {"workspace_id": WS, "repo": "acme/api", "pr_number": 7, "review_id": 1, "author": "ann", "state": "COMMENTED",
         "submitted_at": h(22)},
        {"workspace_id": WS, "repo": "acme/api", "pr_number": 7, "review_id": 2, "author": "bob", "state": "APPROVED",
         "submitted_at": h(26)},
    ]
    slack_ts = f"{h(5).timestamp():.6f}"
    links = [
        {"workspace_id": WS, "source_kind": "github_pr", "source_id": "acme/api#7", "ticket_id": "P1", "decision": "linked"},
        {"workspace_id": WS, "source_kind": "github_pr", "source_id": "https://github.com/acme/api/pull/8",
         "ticket_id": "ENG-P1", "decision": "linked"},
        {"workspace_id": WS, "source_kind": "slack_thread", "source_id": f"C1:{slack_ts}", "ticket_id": "ENG-P1",
         "decision": "linked"},
        {"workspace_id": WS, "source_kind": "slack_thread", "source_id": "C1:1704070800.000000", "ticket_id": "P1",
         "decision": "suggested"},  # not linked: no touchpoint
    ]
    comments = [{"workspace_id": WS, "comment_id": "c1", "issue_id": "P1", "created_at": h(15)}]
    events = [{"workspace_id": WS, "event_id": "e1", "occurred_at": h(-2), "agent": "triage", "kind": "task",
               "ticket_id": "ENG-P1"}]
    load(wh, [p1], **{"core.github_pull_requests": pulls, "core.github_reviews": reviews,
                      "core.linear_comments": comments, "core.agent_events": events})
    with wh.connect() as con:
        con.register("links", pa.Table.from_pylist(links))
        con.execute("INSERT INTO marts.ticket_links BY NAME SELECT * FROM links")
    build(wh, h(100))
    assert visits(wh, "P1") == [
        ("Planning", h(0), h(10), 10.0, 1),
        ("Execution", h(10), h(20), 10.0, 1),
        ("Validation", h(20), h(30), 10.0, 1),  # while PR 7 is open
        ("Execution", h(30), h(32), 2.0, 2),  # merged, ticket not yet Done
        ("Delivery", h(32), None, 68.0, 1),
    ]
    pr = rows(wh, "SELECT * FROM marts.pr_cycle_time WHERE number = 7")[0]
    # coding 20 - 12 = 8, pickup 26 - 20 = 6 (the author's own review does not count), review 30 - 26 = 4,
    # time to merge 30 - 20 = 10, cycle 8 + 10 = 18
    assert (pr["coding_hours"], pr["pickup_hours"], pr["review_hours"], pr["time_to_merge_hours"],
            pr["cycle_hours"]) == (8.0, 6.0, 4.0, 10.0, 18.0)
    assert (pr["status"], pr["reviews"], pr["reviewers"], pr["ticket_ids"]) == ("merged", 1, 1, ["P1"])
    draft = rows(wh, "SELECT status, pickup_hours, cycle_hours FROM marts.pr_cycle_time WHERE number = 8")[0]
    assert draft == {"status": "draft", "pickup_hours": None, "cycle_hours": None}
    stages = journey(wh, "P1")["stages"]
    # Slack thread at h5 -> Planning; agent event at h-2 (before creation) -> the first visit, Planning;
    # comment at h15 -> Execution; PR 7 opened at h20 -> Validation (PR 8 opened h2 -> Planning).
    assert (stages["Planning"]["slack_threads"], stages["Planning"]["agent_events"],
            stages["Planning"]["pull_requests"]) == (1, 1, 1)
    assert (stages["Execution"]["comments"], stages["Validation"]["pull_requests"]) == (1, 1)
    j = journey(wh, "P1")
    assert (j["slack_threads"], j["pull_requests"], j["comments"], j["agent_events"]) == (1, 2, 1, 1)


def test_same_instant_archive_unmapped_states_and_as_of(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    tickets = [
        # Created in Backlog and moved to Todo at the same instant: only the last change counts.
        ticket("S1", [(h(0), "Backlog"), (h(0), "Todo"), (h(10), "Limbo"), (h(20), "In Progress"), (h(300), "Done")]),
        # Archived after delivery: Closure from archived_at.
        ticket("S2", [(h(0), "In Progress"), (h(10), "Done")], archived_at=h(20)),
    ]
    load(wh, tickets)
    build(wh, h(100))
    # "Limbo" (type custom) matches no rule: S1 stays in Planning; the h300 change is after as_of.
    assert visits(wh, "S1") == [("Planning", h(0), h(20), 20.0, 1), ("Execution", h(20), None, 80.0, 1)]
    assert visits(wh, "S2") == [("Execution", h(0), h(10), 10.0, 1), ("Delivery", h(10), h(20), 10.0, 1),
                                ("Closure", h(20), None, 80.0, 1)]
    with wh.connect() as con:
        assert unmapped_states(con) == [(WS, "ENG", "Limbo", "custom")]


def test_workspaces_never_mix(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    # The same ticket id and team in two workspaces, with different histories.
    load(wh, [ticket("X", [(h(0), "In Progress"), (h(10), "Done")], ws="wa")], ws="wa")
    load(wh, [ticket("X", [(h(0), "In Progress"), (h(30), "Done")], ws="wb")], ws="wb")
    build(wh, h(100))
    assert visits(wh, "X", ws="wa") == [("Execution", h(0), h(10), 10.0, 1), ("Delivery", h(10), None, 90.0, 1)]
    assert visits(wh, "X", ws="wb") == [("Execution", h(0), h(30), 30.0, 1), ("Delivery", h(30), None, 70.0, 1)]
    stats = rows(wh, "SELECT workspace_id, p50_hours FROM marts.journey_stage_stats WHERE stage = 'Execution' ORDER BY 1")
    assert stats == [{"workspace_id": "wa", "p50_hours": 10.0}, {"workspace_id": "wb", "p50_hours": 30.0}]
    weekly = rows(wh, "SELECT workspace_id, cycle_p50_hours FROM marts.cycle_time_weekly ORDER BY 1")
    assert weekly == [{"workspace_id": "wa", "cycle_p50_hours": 10.0}, {"workspace_id": "wb", "cycle_p50_hours": 30.0}]


def test_rebuild_is_deterministic_for_a_fixed_as_of(main):
    before = rows(main, "SELECT * FROM marts.ticket_journeys ORDER BY ticket_id")
    build(main, AS_OF)
    assert rows(main, "SELECT * FROM marts.ticket_journeys ORDER BY ticket_id") == before
    built = rows(main, "SELECT DISTINCT as_of FROM marts.ticket_journeys")
    assert built == [{"as_of": AS_OF}]


def test_agent_activity_rates_time_to_decision_and_cost(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")

    def event(event_id, minutes, kind, trace=None, outcome=None, started=None, agent="planner", ticket_id=None):
        return {"workspace_id": WS, "event_id": event_id, "occurred_at": h(minutes / 60), "agent": agent, "kind": kind,
                "trace_id": trace, "outcome": outcome, "ticket_id": ticket_id,
                "started_at": h(started / 60) if started is not None else None, "input_tokens": 100, "output_tokens": 10}

    events = [
        event("t1", 60, "task", "tr1", "success", started=0),
        event("d1", 30, "decision", "tr1"),  # 30 min after t1 started
        event("d2", 48, "decision", "tr1"),  # not t1's first decision
        event("t2", 130, "task", "tr2", "failure", started=120),
        event("d3", 130, "decision", "tr2"),  # 10 min after t2 started
        event("x1", 140, "escalation", "tr2"),
        event("t3", 300, "task", None, None, started=300, ticket_id="ENG-1"),  # no outcome, no decision
        event("hf", 310, "handoff", None, ticket_id="ENG-1"),
        event("d4", 400, "decision", "tr9"),  # no task in its trace: no time to decision
        event("o1", 10, "task", "tr5", "success", started=0, agent="other"),
    ]
    usage = [
        {"workspace_id": WS, "usage_id": "u1", "occurred_at": h(1), "source": "agent_trace", "agent": "planner",
         "requests": 1, "cost_usd": 0.5},
        {"workspace_id": WS, "usage_id": "u2", "occurred_at": h(2), "source": "agent_trace", "agent": "planner",
         "requests": 1, "cost_usd": 0.25},
        {"workspace_id": WS, "usage_id": "u3", "occurred_at": h(3), "source": "agent_trace", "agent": "planner",
         "requests": 1, "cost_usd": None},  # unknown model
        {"workspace_id": WS, "usage_id": "u4", "occurred_at": h(3), "source": "openai_usage", "agent": "planner",
         "requests": 9, "cost_usd": 9.0},  # organization bucket: not the agent's own calls
    ]
    load(wh, [], **{"core.agent_events": events, "core.llm_usage": usage})
    build(wh, h(100))
    planner = rows(wh, "SELECT * FROM marts.agent_activity WHERE agent = 'planner'")[0]
    assert (planner["tasks"], planner["decisions"], planner["escalations"], planner["handoffs"]) == (3, 4, 1, 1)
    # success: 1 of the 2 tasks with an outcome; escalations: 1 per 3 tasks
    assert (planner["success_rate"], planner["escalation_rate"]) == (0.5, pytest.approx(1 / 3))
    # first decisions: t1 after 30 min (1800 s), t2 after 10 min (600 s) -> median 1200 s
    assert (planner["decided_tasks"], planner["median_seconds_to_decision"]) == (2, 1200.0)
    # cost: 0.5 + 0.25 priced, 1 unpriced call; the organization bucket is not counted
    assert (planner["llm_calls"], planner["cost_usd"], planner["unpriced_calls"]) == (3, 0.75, 1)
    assert (planner["input_tokens"], planner["output_tokens"], planner["tickets"]) == (900, 90, 1)
    other = rows(wh, "SELECT tasks, success_rate, llm_calls, cost_usd FROM marts.agent_activity WHERE agent = 'other'")
    assert other == [{"tasks": 1, "success_rate": 1.0, "llm_calls": 0, "cost_usd": None}]
