from datetime import datetime, timezone

import pytest

from connectors.records import parse_page
from connectors.slack import message_key, parse_channel, parse_message, parse_user, ts_minus_seconds

CTX = dict(workspace_id="T1", channel_id="C1")


def test_a_reply_with_an_edit_becomes_a_typed_row():
    row = parse_message({"type": "message", "user": "U1", "text": "fixed in ENG-12 :tada:", "ts": "1700000100.000200",
                         "thread_ts": "1700000000.000100", "edited": {"user": "U1", "ts": "1700000200.000000"}}, **CTX)
    assert row["posted_at"] == datetime(2023, 11, 14, 22, 15, 0, 200, tzinfo=timezone.utc)
    assert row["edited_at"] == datetime(2023, 11, 14, 22, 16, 40, tzinfo=timezone.utc)
    assert (row["thread_ts"], row["is_deleted"], row["reply_count"]) == ("1700000000.000100", False, 0)


def test_tombstones_are_deleted_and_bots_are_attributed_to_their_bot_id():
    tomb = parse_message({"type": "message", "subtype": "tombstone", "text": "This message was deleted.",
                          "ts": "1.000001", "thread_ts": "1.000001", "reply_count": 2, "latest_reply": "3.000001"}, **CTX)
    assert tomb["is_deleted"] and tomb["reply_count"] == 2 and tomb["user_id"] is None
    bot = parse_message({"type": "message", "subtype": "bot_message", "bot_id": "B9", "text": "deployed", "ts": "2.000001"}, **CTX)
    assert bot["user_id"] == "B9"


@pytest.mark.parametrize("record, reason", [
    ({"text": "no ts"}, "ts None is not a Slack timestamp"),
    ({"ts": "yesterday"}, "ts 'yesterday' is not a Slack timestamp"),
    ({"ts": "1.1", "user": 42}, "user is int, expected a string id"),
    ({"ts": "1.1", "reply_count": -3}, "reply_count -3 is not a non-negative integer"),
    ({"ts": "1.1", "edited": "yes"}, "edited is not an object"),
    ("just a string", "record is str, expected an object"),
])
def test_malformed_messages_are_rejected_with_a_reason(record, reason):
    parsed = parse_page([record, {"ts": "5.000001", "text": "fine"}], parse_message, message_key, **CTX)
    assert [r["ts"] for r in parsed.rows] == ["5.000001"]
    assert [r.reason for r in parsed.rejected] == [reason]
    assert len(parsed.rows) + len(parsed.rejected) == 2


def test_users_and_channels():
    user = parse_user({"id": "U1", "name": "zoe", "deleted": True, "profile": {"real_name": "Zoë", "display_name": "z"}},
                      workspace_id="T1")
    assert (user["real_name"], user["is_deleted"], user["is_bot"]) == ("Zoë", True, False)
    channel = parse_channel({"id": "C1", "name": "eng", "is_private": True, "is_archived": False, "created": 1700000000,
                             "topic": {"value": "builds"}}, workspace_id="T1")
    assert (channel["is_private"], channel["topic"], channel["created_at"].year) == (True, "builds", 2023)


def test_rescan_window_start():
    assert ts_minus_seconds("1700086400.000300", 86400) == "1700000000.000300"
    assert ts_minus_seconds("100.000001", 1000) == "0.000001"
