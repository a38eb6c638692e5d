"""GitHub parse functions: wire objects -> rows; what is unusable raises ParseError with a reason."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.github import (
    change_of,
    first_commit_at,
    is_pull_request,
    login_of,
    parse_comment,
    parse_issue,
    parse_pull,
    parse_records,
    parse_review,
    parse_timeline_event,
)
from connectors.records import ParseError, parse_timestamp

CTX = {"workspace_id": "T1", "repo": "acme/api"}
USER = {"login": "zoe-martin", "id": 1, "type": "User"}


def pull(**overrides):
    obj = {"number": 7, "title": "[ENG-12] Fix login", "body": None, "state": "closed", "user": USER,
           "head": {"ref": "eng-12-fix-login"}, "base": {"ref": "main"}, "draft": False,
           "html_url": "https://github.com/acme/api/pull/7", "created_at": "2026-11-01T10:00:00Z",
           "updated_at": "2026-11-02T10:00:00Z", "merged_at": "2026-11-02T09:00:00Z",
           "closed_at": "2026-11-02T09:00:00Z", "labels": [{"name": "bug"}]}
    obj.update(overrides)
    return obj


def test_parse_pull_maps_the_wire_object():
    row = parse_pull(pull(), **CTX)
    assert row == {
        "workspace_id": "T1", "repo": "acme/api", "number": 7, "title": "[ENG-12] Fix login", "body": None,
        "state": "closed", "author": "zoe-martin", "head_ref": "eng-12-fix-login", "base_ref": "main",
        "draft": False, "url": "https://github.com/acme/api/pull/7",
        "created_at": datetime(2026, 11, 1, 10, tzinfo=UTC), "updated_at": datetime(2026, 11, 2, 10, tzinfo=UTC),
        "merged_at": datetime(2026, 11, 2, 9, tzinfo=UTC), "closed_at": datetime(2026, 11, 2, 9, tzinfo=UTC),
        "labels": ["bug"],
    }
    assert "first_commit_at" not in row  # comes from the timeline, so a PR update never clears it


def test_deleted_accounts_are_ghost():
    assert parse_pull(pull(user=None), **CTX)["author"] == "ghost"
    assert parse_pull(pull(user={"login": "ghost", "id": 10137}), **CTX)["author"] == "ghost"
    review = {"id": 5, "user": None, "state": "APPROVED", "body": "", "submitted_at": "2026-11-01T12:00:00Z"}
    assert parse_review(review, **CTX, pr_number=7)["author"] == "ghost"


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"created_at": "2026-02-30T25:61:00Z"}, "created_at '2026-02-30T25:61:00Z' is not an ISO 8601 timestamp"),
    ({"created_at": None}, "created_at is missing"),
    ({"updated_at": "2026-11-01T10:00:00"}, "has no time zone"),
    ({"number": None}, "number is missing"),
    ({"number": True}, "number is missing"),
    ({"title": ["x"]}, "title is missing or not a string"),
    ({"state": "merged"}, "state 'merged' is not open or closed"),
    ({"user": "zoe"}, "user is not a user object"),
    ({"labels": [{"color": "red"}]}, "a label has no name"),
    ({"body": 12}, "body is not a string"),
])
def test_unusable_pulls_raise_with_a_reason(overrides, reason):
    with pytest.raises(ParseError, match=reason.replace("[", r"\[").replace("(", r"\(")):
        parse_pull(pull(**overrides), **CTX)


def test_parse_issue_and_pull_request_marker():
    issue = {"number": 3, "title": "Export is slow", "body": "since Monday", "state": "closed", "user": USER,
             "html_url": "https://github.com/acme/api/issues/3", "created_at": "2026-10-01T00:00:00Z",
             "updated_at": "2026-10-02T00:00:00Z", "closed_at": "2026-10-02T00:00:00Z", "labels": [],
             "state_reason": "not_planned"}
    row = parse_issue(issue, **CTX)
    assert (row["number"], row["state_reason"], row["labels"], row["author"]) == (3, "not_planned", [], "zoe-martin")
    assert not is_pull_request(issue)
    assert is_pull_request({**issue, "pull_request": {"url": "x"}})
    assert change_of(issue) == (3, datetime(2026, 10, 2, tzinfo=UTC))
    assert change_of({"number": 3, "updated_at": "soon"}) is None


def test_comments_take_their_number_from_the_parent_url():
    issue_comment = {"id": 11, "issue_url": "https://api.github.com/repos/acme/api/issues/42", "user": None,
                     "body": "+1", "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-03T00:00:00Z",
                     "html_url": "https://github.com/acme/api/pull/42#issuecomment-11"}
    row = parse_comment(issue_comment, **CTX, kind="issue")
    assert (row["number"], row["kind"], row["author"], row["review_id"]) == (42, "issue", "ghost", None)
    review_comment = {"id": 12, "pull_request_url": "https://api.github.com/repos/acme/api/pulls/9",
                      "pull_request_review_id": 99, "in_reply_to_id": 10, "path": "app/x.py", "user": USER,
                      "body": "nit", "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-01T00:00:00Z"}
    row = parse_comment(review_comment, **CTX, kind="review")
    assert (row["number"], row["review_id"], row["in_reply_to_id"], row["path"]) == (9, 99, 10, "app/x.py")
    with pytest.raises(ParseError, match="issue_url is missing"):
        parse_comment({**issue_comment, "issue_url": None}, **CTX, kind="issue")
    with pytest.raises(ParseError, match="id is missing"):
        parse_comment({k: v for k, v in issue_comment.items() if k != "id"}, **CTX, kind="issue")


def test_timeline_events_ids_times_and_actors():
    committed = {"sha": "abc", "node_id": "C_1", "author": {"name": "Zoë", "date": "2026-10-30T08:00:00Z"},
                 "committer": {"date": "2026-10-30T09:00:00Z"}, "event": "committed"}
    reviewed = {"event": "reviewed", "id": 5, "node_id": "PRR_1", "user": USER, "state": "approved",
                "submitted_at": "2026-11-01T00:00:00Z"}
    closed = {"event": "closed", "id": 6, "node_id": "CE_1", "actor": None, "created_at": "2026-11-02T00:00:00Z"}
    no_node = {"event": "labeled", "id": 8, "actor": USER, "created_at": "2026-11-02T00:00:00Z"}
    rows = [parse_timeline_event(e, **CTX, number=7) for e in (committed, reviewed, closed, no_node)]
    assert [(r["event_id"], r["event"], r["actor"]) for r in rows] == [
        ("C_1", "committed", None), ("PRR_1", "reviewed", "zoe-martin"), ("CE_1", "closed", "ghost"),
        ("8", "labeled", "zoe-martin")]
    assert rows[0]["created_at"] == datetime(2026, 10, 30, 8, tzinfo=UTC)  # the author date
    assert first_commit_at(rows) == datetime(2026, 10, 30, 8, tzinfo=UTC)
    assert first_commit_at(rows[1:]) is None
    with pytest.raises(ParseError, match="no node_id, id or sha"):
        parse_timeline_event({"event": "cross-referenced", "created_at": "2026-11-02T00:00:00Z"}, **CTX, number=7)


def test_parse_records_quarantines_with_reasons_and_keys():
    parsed = parse_records([pull(), pull(number=8, created_at="yesterday"), "junk"], parse_pull,
                           lambda r: f"{r['repo']}#{r['number']}", **CTX)
    assert [r["number"] for r in parsed.rows] == [7]
    assert parsed.raw[0][0] == "acme/api#7"
    assert [(r.record_key, r.reason) for r in parsed.rejected] == [
        ("number:8", "created_at 'yesterday' is not an ISO 8601 timestamp"), (None, "record is str, expected an object")]


def test_times_and_logins():
    assert parse_timestamp("2026-11-20T17:00:00+01:00", "t") == datetime(2026, 11, 20, 16, tzinfo=UTC)
    assert parse_timestamp("2026-11-20T17:00:00z", "t") == datetime(2026, 11, 20, 17, tzinfo=UTC)
    assert parse_timestamp(None, "t", required=False) is None
    for bad, reason in (("9999-12-31T23:00:00-14:00", "out of range"), ("", "not an ISO 8601"), (None, "missing")):
        with pytest.raises(ParseError, match=reason):
            parse_timestamp(bad, "t")
    assert login_of({"login": "dependabot[bot]"}) == "dependabot[bot]"
    with pytest.raises(ParseError):
        login_of({"id": 3})
