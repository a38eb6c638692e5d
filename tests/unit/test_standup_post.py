"""Idempotent posting (pmflow/reports/post.py) against a fake Slack: one message per team and date,
updated by every later run, recovered when the answer to a post was lost, re-posted when deleted."""
from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest

from connectors.errors import PermanentError, TransientError
from pmflow.reports import store
from pmflow.reports.model import Item, Report, Section
from pmflow.reports.post import publish
from pmflow.reports.render import fallback_text, to_blocks, to_markdown
from warehouse import Warehouse

KEY = ("W", "daily", "ENG", date(2026, 11, 20))


class FakeSlack:
    """chat.postMessage / chat.update / conversations.history as a dict of channel -> messages."""

    def __init__(self, lose_answer_of_posts: int = 0):
        self.messages: dict[str, dict[str, dict]] = {"C0STANDUP": {}}
        self.calls: list[str] = []
        self.lose = lose_answer_of_posts
        self.clock = int(time.time())

    def call(self, method, **params):
        self.calls.append(method)
        assert method == "auth.test"
        return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT"}

    def channels(self):
        self.calls.append("conversations.list")
        yield [{"id": "C0STANDUP", "name": "standup"}]

    def history(self, channel, oldest=None):
        self.calls.append("conversations.history")
        yield [m for m in reversed(self.messages[channel].values()) if float(m["ts"]) >= float(oldest or 0)]

    def post_message(self, channel, text, blocks=None):
        self.calls.append("chat.postMessage")
        channel_id = "C0STANDUP" if channel in ("#standup", "standup", "C0STANDUP") else channel
        if channel_id not in self.messages:
            raise PermanentError("Slack chat.postMessage refused: channel_not_found")
        self.clock += 1
        ts = f"{self.clock}.000100"
        self.messages[channel_id][ts] = {"ts": ts, "user": "UBOT", "bot_id": "BBOT", "text": text, "blocks": blocks}
        if self.lose:
            self.lose -= 1
            raise TransientError("Slack chat.postMessage still failing after retries: ConnectionResetError")
        return {"ok": True, "channel": channel_id, "ts": ts}

    def update_message(self, channel, ts, text, blocks=None):
        self.calls.append("chat.update")
        if ts not in self.messages.get(channel, {}):
            raise PermanentError("Slack chat.update refused: message_not_found")
        self.messages[channel][ts].update(text=text, blocks=blocks)
        return {"ok": True, "channel": channel, "ts": ts}


def save(wh: Warehouse, headline: str) -> None:
    report = Report(kind="daily", workspace_id="W", team="ENG", team_name="Engineering", timezone="UTC",
                    report_date=date(2026, 11, 20), window_start=datetime(2026, 11, 19, 9, tzinfo=UTC),
                    window_end=datetime(2026, 11, 20, 9, tzinfo=UTC), title="ENG standup", context="Engineering",
                    headline=headline, sections=[Section("done", "Done", [Item(text="t", ref="ENG-1")])])
    with wh.connect() as con:
        store.save_report(con, report, to_markdown(report), to_blocks(report), fallback_text(report),
                          datetime.now(UTC), None)


def state(wh: Warehouse) -> store.PostState:
    with wh.connect() as con:
        return store.post_state(con, KEY)


@pytest.fixture
def wh(tmp_path) -> Warehouse:
    return Warehouse(tmp_path / "wh.duckdb")


def test_the_first_run_posts_and_every_later_run_updates_the_same_message(wh):
    slack = FakeSlack()
    save(wh, "1 done")
    first = publish(wh, KEY, "#standup", slack)
    assert first.action == "posted" and first.channel == "C0STANDUP"
    assert state(wh).slack_ts == first.ts and state(wh).post_count == 1

    save(wh, "2 done")  # a re-run regenerates the report: content replaced, message kept
    assert state(wh).slack_ts == first.ts
    second = publish(wh, KEY, "#standup", slack)
    assert (second.action, second.ts) == ("updated", first.ts)
    assert slack.calls.count("chat.postMessage") == 1 and slack.calls.count("chat.update") == 1
    (message,) = slack.messages["C0STANDUP"].values()
    assert message["text"] == "ENG standup: 2 done"
    assert state(wh).update_count == 1 and state(wh).post_count == 1


def test_a_post_whose_answer_was_lost_is_found_and_updated_not_posted_again(wh):
    slack = FakeSlack(lose_answer_of_posts=1)
    save(wh, "1 done")
    with pytest.raises(TransientError):
        publish(wh, KEY, "#standup", slack)  # Slack has the message; we never heard its ts
    assert state(wh).post_started_at is not None and state(wh).slack_ts is None

    retried = publish(wh, KEY, "#standup", slack)  # what the task's retry does
    assert retried.action == "recovered"
    assert len(slack.messages["C0STANDUP"]) == 1 and slack.calls.count("chat.postMessage") == 1
    assert state(wh).slack_ts == retried.ts and state(wh).post_count == 1
    assert publish(wh, KEY, "#standup", slack).action == "updated"


def test_a_post_that_never_reached_slack_is_posted_on_retry(wh):
    slack = FakeSlack()
    save(wh, "1 done")
    with wh.connect() as con:  # a crash right after recording the intent, before the call
        store.mark_post_started(con, KEY, "#standup", datetime.now(UTC))
    result = publish(wh, KEY, "#standup", slack)
    assert result.action == "posted" and len(slack.messages["C0STANDUP"]) == 1


def test_a_deleted_message_is_posted_anew_and_other_refusals_fail(wh):
    slack = FakeSlack()
    save(wh, "1 done")
    first = publish(wh, KEY, "#standup", slack)
    del slack.messages["C0STANDUP"][first.ts]
    again = publish(wh, KEY, "#standup", slack)
    assert again.action == "posted" and again.ts != first.ts and state(wh).post_count == 2

    with pytest.raises(PermanentError, match="channel_not_found"):
        store_key = ("W", "daily", "ENG", date(2026, 11, 20))
        with wh.connect() as con:
            store.forget_message(con, store_key)
        publish(wh, KEY, "#nope", slack)


def test_posting_a_report_that_was_never_generated_is_an_error(wh):
    wh.ensure_schema()
    with pytest.raises(LookupError):
        publish(wh, KEY, "#standup", FakeSlack())


def test_when_the_channel_cannot_be_checked_it_fails_rather_than_risk_a_second_message(wh):
    slack = FakeSlack(lose_answer_of_posts=1)
    save(wh, "1 done")
    with pytest.raises(TransientError):
        publish(wh, KEY, "#standup", slack)

    def no_history(channel, oldest=None):
        raise PermanentError("Slack conversations.history refused: missing_scope")
        yield  # pragma: no cover

    slack.history = no_history
    with pytest.raises(PermanentError, match="not posting again"):
        publish(wh, KEY, "#standup", slack)
    assert slack.calls.count("chat.postMessage") == 1 and len(slack.messages["C0STANDUP"]) == 1
