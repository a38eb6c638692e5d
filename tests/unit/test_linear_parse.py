"""Linear parsers: good records become rows, bad ones a ParseError whose message is the reason."""
from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta

import pytest

from connectors.linear import (
    cursor_minus,
    format_datetime,
    is_state_change,
    parse_comment,
    parse_cycle,
    parse_history,
    parse_issue,
    parse_label,
    parse_project,
    parse_state,
    parse_team,
    parse_user,
    updated_since,
    user_refs,
)
from connectors.records import ParseError, parse_page

WS = "T1"
ISSUE = {
    "id": "i1", "identifier": "ENG-7", "number": 7, "title": "Fix login", "description": None, "priority": 2,
    "estimate": 3, "url": "https://linear.app/acme/issue/ENG-7/fix-login", "labelIds": ["l1", "l2"],
    "createdAt": "2026-11-01T10:00:00.000Z", "updatedAt": "2026-11-02T11:30:00.250Z",
    "startedAt": "2026-11-01T12:00:00.000Z", "completedAt": None, "canceledAt": None, "archivedAt": None,
    "state": {"id": "s2", "name": "In Review", "type": "started"}, "team": {"id": "t1", "key": "ENG"},
    "project": {"id": "p1"}, "cycle": None, "parent": {"id": "i0"}, "assignee": None, "creator": {"id": "u1"},
    "history": {"nodes": []},
}
HISTORY = {"id": "h1", "createdAt": "2026-11-01T12:00:00.000Z", "actor": {"id": "u1"},
           "fromState": {"id": "s1", "name": "Todo", "type": "unstarted"},
           "toState": {"id": "s2", "name": "In Progress", "type": "started"}}


def issue(**changes):
    record = copy.deepcopy(ISSUE)
    record.update(changes)
    return record


def test_an_issue_row_denormalises_state_and_team_and_keeps_a_null_assignee():
    row = parse_issue(ISSUE, workspace_id=WS, known_users={"u1"})
    assert row["state_name"] == "In Review" and row["state_type"] == "started" and row["team_key"] == "ENG"
    assert row["assignee_id"] is None and row["creator_id"] == "u1" and row["parent_id"] == "i0"
    assert row["priority"] == 2 and row["estimate"] == 3 and row["label_ids"] == ["l1", "l2"]
    assert row["updated_at"] == datetime(2026, 11, 2, 11, 30, 0, 250000, tzinfo=UTC)
    assert row["completed_at"] is None and row["cycle_id"] is None


@pytest.mark.parametrize(("changes", "reason"), [
    ({"state": {"id": "s9", "name": "Paused", "type": "paused"}}, "state type 'paused' is not a Linear state type"),
    ({"identifier": ""}, "identifier is missing"),
    ({"title": None}, "title is missing"),
    ({"createdAt": None}, "createdAt is missing"),
    ({"createdAt": "2026-02-30T09:00:00.000Z"}, "is not an ISO 8601 timestamp"),
    ({"updatedAt": "yesterday"}, "is not an ISO 8601 timestamp"),
    ({"completedAt": "2026-11-02T10:00:00"}, "has no time zone"),
    ({"canceledAt": "0001-01-01T00:00:00+14:00"}, "is out of range"),  # before year 1 in UTC
    ({"assignee": {"id": "ghost"}}, "assignee ghost is not a known Linear user"),
    ({"priority": 7}, "priority 7 is out of range"),
    ({"team": None}, "team is missing"),
    ({"labelIds": "l1"}, "labelIds is not a list"),
])
def test_bad_issues_say_why(changes, reason):
    with pytest.raises(ParseError, match=reason):
        parse_issue(issue(**changes), workspace_id=WS, known_users={"u1"})


def test_a_missing_key_is_as_bad_as_a_null_one():
    record = issue()
    del record["identifier"]
    with pytest.raises(ParseError, match="identifier is missing"):
        parse_issue(record, workspace_id=WS)


def test_unknown_users_are_only_checked_when_the_known_users_are_given():
    assert parse_issue(issue(assignee={"id": "ghost"}), workspace_id=WS)["assignee_id"] == "ghost"


def test_history_rows_name_both_states_and_the_creation_entry_has_no_from_state():
    row = parse_history(HISTORY, workspace_id=WS, issue_id="i1", known_users={"u1"})
    assert (row["from_state"], row["from_state_type"], row["to_state"], row["to_state_type"]) == (
        "Todo", "unstarted", "In Progress", "started")
    assert (row["from_state_id"], row["to_state_id"], row["actor_id"]) == ("s1", "s2", "u1")
    creation = parse_history({**HISTORY, "fromState": None}, workspace_id=WS, issue_id="i1")
    assert creation["from_state"] is None and creation["to_state"] == "In Progress"


def test_only_state_changes_are_history_rows():
    assert is_state_change(HISTORY)
    assert not is_state_change({"id": "h2", "createdAt": "2026-11-01T12:00:00.000Z", "fromState": None,
                                "toState": None, "actor": None})
    assert is_state_change("garbage")  # kept, so that it is quarantined rather than dropped
    with pytest.raises(ParseError, match="not a state change"):
        parse_history({**HISTORY, "fromState": None, "toState": None}, workspace_id=WS, issue_id="i1")


@pytest.mark.parametrize(("changes", "reason"), [
    ({"toState": {"id": "s9", "name": "Paused", "type": "paused"}}, "toState type 'paused'"),
    ({"createdAt": "yesterday"}, "createdAt 'yesterday' is not an ISO 8601 timestamp"),
    ({"actor": {"id": "ghost"}}, "actor ghost is not a known Linear user"),
])
def test_bad_history_entries_say_why(changes, reason):
    with pytest.raises(ParseError, match=reason):
        parse_history({**HISTORY, **changes}, workspace_id=WS, issue_id="i1", known_users={"u1"})


def test_comments():
    comment = {"id": "c1", "body": "PR is up", "createdAt": "2026-11-01T12:00:00.000Z",
               "updatedAt": "2026-11-01T13:00:00.000Z", "editedAt": "2026-11-01T13:00:00.000Z",
               "issue": {"id": "i1"}, "user": {"id": "u1"}}
    row = parse_comment(comment, workspace_id=WS, known_users={"u1"})
    assert row["issue_id"] == "i1" and row["edited_at"] == datetime(2026, 11, 1, 13, tzinfo=UTC)
    assert parse_comment({**comment, "user": None}, workspace_id=WS)["user_id"] is None  # an integration's
    for changes, reason in (({"user": {"id": "ghost"}}, "user ghost is not a known"),
                            ({"createdAt": "2026-13-01T10:00:00.000Z"}, "is not an ISO 8601"),
                            ({"issue": None}, "not an issue comment"), ({"body": 3}, "body is missing")):
        with pytest.raises(ParseError, match=reason):
            parse_comment({**comment, **changes}, workspace_id=WS, known_users={"u1"})


def test_catalog_records():
    assert parse_team({"id": "t1", "key": "ENG", "name": "Engineering", "timezone": "America/New_York"},
                      workspace_id=WS) == {"workspace_id": WS, "team_id": "t1", "key": "ENG", "name": "Engineering",
                                           "timezone": "America/New_York"}
    state = parse_state({"id": "s1", "name": "In Review", "type": "started", "position": 4.0, "team": {"id": "t1"}},
                        workspace_id=WS)
    assert (state["type"], state["team_id"], state["position"]) == ("started", "t1", 4.0)
    with pytest.raises(ParseError, match="'paused'"):
        parse_state({"id": "s9", "name": "Paused", "type": "paused", "team": {"id": "t1"}}, workspace_id=WS)
    user = parse_user({"id": "u1", "name": "Zoë Martin", "displayName": "zoe.martin", "email": "z@x.io",
                       "active": False}, workspace_id=WS)
    assert user["is_active"] is False and user["display_name"] == "zoe.martin"
    project = parse_project({"id": "p1", "name": "Search v2", "state": "started", "targetDate": "2026-12-24",
                             "startedAt": "2026-10-01T00:00:00.000Z", "completedAt": None}, workspace_id=WS)
    assert project["target_date"] == date(2026, 12, 24)
    with pytest.raises(ParseError, match="targetDate"):
        parse_project({"id": "p1", "targetDate": "soon"}, workspace_id=WS)
    cycle = parse_cycle({"id": "c1", "number": 4.0, "startsAt": "2026-11-02T00:00:00.000Z",
                         "endsAt": "2026-11-16T00:00:00.000Z", "team": {"id": "t1"}}, workspace_id=WS)
    assert cycle["number"] == 4 and isinstance(cycle["number"], int)
    assert parse_label({"id": "l1", "name": "Bug", "team": None}, workspace_id=WS)["team_id"] is None


def test_a_page_quarantines_the_bad_and_keeps_the_rest():
    page = [ISSUE, issue(id="i2", createdAt="2026-02-30T09:00:00.000Z"), "not an object", issue(id="i3")]
    parsed = parse_page(page, parse_issue, lambda r: r["issue_id"], workspace_id=WS, known_users={"u1"})
    assert [r["issue_id"] for r in parsed.rows] == ["i1", "i3"]
    assert [(r.record_key, "ISO 8601" in r.reason or "object" in r.reason) for r in parsed.rejected] == [
        ("i2", True), (None, True)]


def test_user_refs_cover_issue_history_and_comment_authors():
    record = issue(assignee={"id": "u2"}, history={"nodes": [HISTORY, {**HISTORY, "actor": {"id": "u3"}}]})
    assert user_refs(record) == {"u1", "u2", "u3"}
    assert user_refs({"user": {"id": "u4"}}) == {"u4"}


def test_cursor_arithmetic_and_filters():
    assert format_datetime(datetime(2026, 11, 20, 17, 0, 0, 123456, tzinfo=UTC)) == "2026-11-20T17:00:00.123Z"
    assert cursor_minus("2026-11-20T17:00:00.000Z", timedelta(minutes=10)) == datetime(2026, 11, 20, 16, 50, tzinfo=UTC)
    assert cursor_minus(None, timedelta(minutes=10)) is None
    assert updated_since(None) is None
    assert updated_since(datetime(2026, 11, 20, tzinfo=UTC)) == {"updatedAt": {"gte": "2026-11-20T00:00:00.000Z"}}
