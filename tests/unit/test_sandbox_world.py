"""The sandbox world generator: determinism, sizes, edge cases, ground truth, mutations."""
from __future__ import annotations

import re
import time
from collections import Counter
from datetime import timedelta

import pytest

from connectors.sandbox.slack_data import SLACKBOT_ID, TOMBSTONE_TEXT, SlackError, parse_ts
from connectors.sandbox.world import NOW, World, resolve_scale

TS = re.compile(r"^\d{10}\.\d{6}$")
IDENT = re.compile(r"\b(?:ENG|WEB|OPS|DATA)-\d+\b")


@pytest.fixture(scope="module")
def tiny() -> World:
    return World.generate(7, "tiny")


@pytest.fixture(scope="module")
def default() -> World:
    return World.generate(7, "default")


def fresh() -> World:
    return World.generate(7, "tiny")


def top_level(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["thread_ts"] in (None, r["ts"])]


# ---- determinism and sizes -------------------------------------------------------------------

def test_same_seed_and_size_give_the_same_world(default):
    again = World.generate(7, "default")
    assert again.expected_slack_messages() == default.expected_slack_messages()
    assert again.expected_slack_users() == default.expected_slack_users()
    assert again.expected_slack_channels() == default.expected_slack_channels()
    assert again.slack_thread_truth == default.slack_thread_truth
    assert again.tickets == default.tickets


def test_another_seed_gives_another_world(default):
    other = World.generate(8, "default")
    assert other.workspace_id != default.workspace_id
    texts = {r["text"] for r in default.expected_slack_messages()}
    assert {r["text"] for r in other.expected_slack_messages()} != texts


@pytest.mark.parametrize("size, low, high, channels", [("tiny", 40, 100, 4), ("default", 2700, 3300, 12),
                                                       (10_000, 9000, 11000, 22)])
def test_sizes(size, low, high, channels):
    world = World.generate(3, size)
    assert low <= len(world.expected_slack_messages()) <= high
    assert len(world.expected_slack_channels()) == channels


def test_default_size_matches_the_documented_shape(default):
    humans = [u for u in default.expected_slack_users() if not u["is_bot"] and u["user_id"] != SLACKBOT_ID]
    assert len(humans) == 25
    assert len(default.tickets) == 300


@pytest.mark.parametrize("size", ["huge", 0, -5, 3.5, True])
def test_unknown_sizes_are_refused(size):
    with pytest.raises(ValueError):
        resolve_scale(size)


def test_generating_200k_messages_takes_seconds():
    started = time.perf_counter()
    world = World.generate(7, 200_000)
    elapsed = time.perf_counter() - started
    count = sum(len(c.by_ts) for c in world.slack.channels.values())
    print(f"\n200k world: {count} messages in {len(world.slack.channels)} channels, generated in {elapsed:.2f}s")
    assert 180_000 <= count <= 220_000


# ---- shape of the data ---------------------------------------------------------------------------

def test_everything_is_dated_before_now(default):
    rows = default.expected_slack_messages()
    assert max(r["posted_at"] for r in rows) < NOW
    assert max(r["edited_at"] for r in rows if r["edited_at"]) < NOW
    assert max(t.created_at for t in default.tickets) < NOW


def test_ts_are_slack_formatted_and_unique_per_channel(default):
    rows = default.expected_slack_messages()
    assert all(TS.match(r["ts"]) for r in rows)
    assert len({(r["channel_id"], r["ts"]) for r in rows}) == len(rows)


def test_replies_are_newer_than_their_parent(default):
    rows = default.expected_slack_messages()
    for r in rows:
        if r["thread_ts"] not in (None, r["ts"]):
            assert parse_ts(r["ts"]) > parse_ts(r["thread_ts"])


def test_tiny_world_contains_every_edge_case(tiny):
    rows = tiny.expected_slack_messages()
    texts = "\n".join(r["text"] for r in rows)
    users = {u["user_id"]: u for u in tiny.expected_slack_users()}
    tombstones = [r for r in rows if r["is_deleted"]]
    assert tombstones and all(r["text"] == TOMBSTONE_TEXT and r["user_id"] == SLACKBOT_ID and r["reply_count"] > 0
                              for r in tombstones)
    assert any(r["edited_at"] for r in rows)
    assert any(r["user_id"].startswith("B") for r in rows), "a classic bot_message (bot_id only)"
    assert any(users.get(r["user_id"], {}).get("is_bot") for r in rows), "an app bot posting as its bot user"
    assert any(len(r["text"]) > 4000 for r in rows)
    assert max(r["reply_count"] for r in rows) > 15, "a thread longer than one 15-message page"
    for needle in ("<@U", "<!channel>", "|the handbook>", ":tada:", "🎉", "李雷", "https://linear.app/"):
        assert needle in texts
    assert IDENT.search(texts)
    assert {"Zoë Martin", "José Fernández", "李雷"} <= {u["real_name"] for u in users.values()}
    assert any(u["is_deleted"] for u in users.values()) and any(u["is_bot"] for u in users.values())
    channels = tiny.expected_slack_channels()
    assert any(c["is_private"] for c in channels) and any(c["is_archived"] for c in channels)
    assert any(not c["is_private"] and not c["is_archived"] for c in channels)


def test_tiny_world_has_a_late_reply_to_an_old_thread(tiny):
    rows = tiny.expected_slack_messages()
    posted = {(r["channel_id"], r["ts"]): r["posted_at"] for r in rows}
    gaps = [r["posted_at"] - posted[(r["channel_id"], r["thread_ts"])] for r in rows
            if r["thread_ts"] not in (None, r["ts"])]
    assert max(gaps) > timedelta(days=14)


def test_thread_broadcasts_are_replies_that_also_show_in_history(tiny):
    broadcasts = [(c, m) for c, m in tiny.slack.iter_messages() if m.subtype == "thread_broadcast"]
    assert broadcasts
    assert all(m.is_reply and c.in_history(m.ts) for c, m in broadcasts)


def test_bad_records_are_extra_and_known():
    clean, dirty = World.generate(7, "tiny"), World.generate(7, "tiny", bad_records=8)
    bad = dirty.bad_slack_records()
    assert len(bad) == 8
    assert Counter(b["reason"] for b in bad) == {"missing_ts": 2, "ts_not_a_number": 2, "user_wrong_type": 2,
                                                  "text_wrong_type": 2}
    assert dirty.expected_slack_messages() == clean.expected_slack_messages()


# ---- work plan and ground truth --------------------------------------------------------------------

def test_tickets_form_a_work_plan(default):
    identifiers = [t.identifier for t in default.tickets]
    assert len(set(identifiers)) == len(identifiers)
    assert 3 <= len({t.team_key for t in default.tickets}) <= 4
    for ticket in default.tickets:
        assert ticket.identifier == f"{ticket.team_key}-{ticket.number}"
        assert ticket.url.startswith(f"https://linear.app/{default.company.slug}/issue/{ticket.identifier}/")
        assert ticket.title and ticket.description and ticket.topic_words and ticket.created_at < NOW


def test_thread_truth_labels_every_top_level_message(default):
    truth = default.slack_thread_truth
    rows = top_level(default.expected_slack_messages())
    assert set(truth) == {(r["channel_id"], r["ts"]) for r in rows}
    identifiers = {t.identifier for t in default.tickets}
    kinds = Counter(label["kind"] for label in truth.values())
    assert set(kinds) == {"ticket", "new_work", "not_work"}
    assert all(label["ticket"] in identifiers for label in truth.values() if label["kind"] == "ticket")
    assert all(label["ticket"] is None for label in truth.values() if label["kind"] != "ticket")


PULL_LINK = re.compile(r"https://github\.com/([\w.-]+/[\w.-]+)/pull/(\d+)")


def test_pull_requests_linked_in_threads_exist_and_are_about_the_threads_work(default):
    """A reply linking a PR links one that exists, was opened by then and is about the thread's
    ticket (or, in a thread about untracked work, about no ticket)."""
    truth, github = default.slack_thread_truth, default.github_truth
    created = {(r.full_name, n): t.created_at for r in default.github.repos.values() for n, t in r.threads.items()}
    linked = Counter()
    for row in default.expected_slack_messages():
        root = (row["channel_id"], row["thread_ts"] or row["ts"])
        for repo, number in PULL_LINK.findall(row["text"] or ""):
            pull = (repo, int(number))
            assert pull in github and created[pull] <= row["posted_at"], row["text"]
            assert github[pull] == truth[root]["ticket"], (row["text"], truth[root])
            linked[truth[root]["kind"]] += 1
    assert linked["ticket"] > 20 and linked["new_work"] > 0


def test_threads_mostly_paraphrase_and_citations_are_right(default):
    truth = default.slack_thread_truth
    cited = paraphrased = 0
    for row in top_level(default.expected_slack_messages()):
        label = truth[(row["channel_id"], row["ts"])]
        mentioned = set(IDENT.findall(row["text"]))
        if mentioned:
            assert label == {"kind": "ticket", "ticket": mentioned.pop()}
            cited += 1
        elif label["kind"] == "ticket" and not row["is_deleted"]:
            paraphrased += 1
    assert cited > 0 and paraphrased > 2 * cited


# ---- mutations --------------------------------------------------------------------------------------

def test_post_message_is_newest_and_labelled():
    world = fresh()
    channel = world.expected_slack_channels()[0]["channel_id"]
    newest = max(parse_ts(r["ts"]) for r in world.expected_slack_messages())
    ts = world.post_message(channel, "new request: please add SSO", kind="new_work")
    row = next(r for r in world.expected_slack_messages() if r["ts"] == ts)
    assert parse_ts(ts) > newest and row["text"] == "new request: please add SSO"
    assert world.slack_thread_truth[(channel, ts)] == {"kind": "new_work", "ticket": None}


def test_add_reply_to_an_old_thread_updates_the_parent():
    world = fresh()
    open_thread = [r for r in world.expected_slack_messages() if r["reply_count"] and not r["is_deleted"]
                   and not world.slack.channels[r["channel_id"]].is_archived]  # archived channels refuse posts
    parent = min(open_thread, key=lambda r: r["ts"])
    ts = world.add_reply(parent["channel_id"], parent["ts"], "still happening")
    rows = {r["ts"]: r for r in world.expected_slack_messages()}
    assert rows[parent["ts"]]["reply_count"] == parent["reply_count"] + 1
    assert rows[ts]["thread_ts"] == parent["ts"] and rows[ts]["text"] == "still happening"
    channel = world.slack.channels[parent["channel_id"]]
    assert channel.by_ts[parse_ts(parent["ts"])].replies[-1].ts == parse_ts(ts)


def test_edit_sets_edited_at_and_text():
    world = fresh()
    row = next(r for r in world.expected_slack_messages() if not r["edited_at"] and not r["is_deleted"])
    edited_ts = world.edit_message(row["channel_id"], row["ts"], "fixed typo")
    after = next(r for r in world.expected_slack_messages() if r["ts"] == row["ts"])
    assert after["text"] == "fixed typo" and after["edited_at"] > row["posted_at"]
    assert parse_ts(edited_ts) > parse_ts(row["ts"])


def test_delete_makes_a_tombstone_only_when_replies_remain():
    world = fresh()
    rows = world.expected_slack_messages()
    parent = next(r for r in rows if r["reply_count"] and not r["is_deleted"])
    plain = next(r for r in rows if r["thread_ts"] is None)
    world.delete_message(parent["channel_id"], parent["ts"])
    world.delete_message(plain["channel_id"], plain["ts"])
    after = {r["ts"]: r for r in world.expected_slack_messages()}
    assert plain["ts"] not in after
    assert after[parent["ts"]]["is_deleted"] and after[parent["ts"]]["text"] == TOMBSTONE_TEXT
    with pytest.raises(SlackError, match="message_not_found"):
        world.delete_message(parent["channel_id"], parent["ts"])
    for reply in [r for r in rows if r["thread_ts"] == parent["ts"] and r["ts"] != parent["ts"]]:
        world.delete_message(reply["channel_id"], reply["ts"])
    assert parent["ts"] not in {r["ts"] for r in world.expected_slack_messages()}


def test_grow_old_history_adds_only_older_messages():
    world = fresh()
    before = world.expected_slack_messages()
    sizes = Counter(r["channel_id"] for r in before)
    channel = max(world.expected_slack_channels(), key=lambda c: sizes[c["channel_id"]])
    in_channel = [r for r in before if r["channel_id"] == channel["channel_id"]]
    added = world.grow_old_history(10, channel["channel_id"])
    after = [r for r in world.expected_slack_messages() if r["channel_id"] == channel["channel_id"]]
    assert 7 * len(in_channel) <= len(after) <= 13 * len(in_channel) and added == len(after) - len(in_channel)
    oldest_before = min(parse_ts(r["ts"]) for r in in_channel)
    new = [r for r in after if r not in in_channel]
    assert all(parse_ts(r["ts"]) < oldest_before for r in new)
    assert all(r in after for r in in_channel)
    assert World.generate(7, "tiny").expected_slack_messages() == before  # generation itself is untouched
