"""Generate a world's Slack workspace: users, channels, and threads about the work plan.

Every top-level message gets a ground-truth label (``SlackMessage.truth``): a thread about a
ticket (citing its identifier or Linear URL about a quarter of the time, otherwise only
paraphrasing it), untracked new work, or not work at all (chit-chat, greetings, bots). A reply
linking a pull request links a real one of the world's GitHub, opened by then, about the thread's
ticket or untracked work.
Besides the random history, every world contains a fixed set of edge cases ("set pieces"), so
that even a tiny world has a tombstone, an edit, a late reply, a >4,000-character message, bot
messages, a thread broadcast, unicode, mentions and links, and a thread longer than one page.
"""
from __future__ import annotations

import bisect
import random
from typing import TYPE_CHECKING

from connectors.sandbox import vocab
from connectors.sandbox.slack_data import (
    SLACKBOT_ID,
    BadRecord,
    SlackBot,
    SlackChannel,
    SlackMessage,
    SlackUser,
    SlackWorkspace,
    format_ts,
    make_tombstone,
)

if TYPE_CHECKING:
    from connectors.sandbox.world import Person, TicketSeed, WorkItem, World

SECOND_US = 1_000_000
HOUR_US = 3600 * SECOND_US
DAY_US = 24 * HOUR_US
NOT_WORK = ("not_work", None)
NEW_WORK = ("new_work", None)
ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
LATE_REPLY_TEXTS = ("Coming back to this one, is it still an issue?", "any news here?",
                    "bumping this, it happened again today", "did we ever fix this?")
BAD_RECORD_KINDS = ("missing_ts", "ts_not_a_number", "user_wrong_type", "text_wrong_type")

# Top-level message kinds per channel profile, as relative weights.
MIXES = {
    "social": {"ticket": 5, "new_work": 5, "not_work": 80, "bot": 10},
    "team": {"ticket": 55, "new_work": 15, "not_work": 18, "bot": 12},
    "requests": {"ticket": 40, "new_work": 40, "not_work": 20},
    "alerts": {"ticket": 25, "new_work": 15, "not_work": 5, "bot": 55},
    "bots": {"ticket": 10, "not_work": 5, "bot": 85},
}
# kind -> (probability that it gets replies, mean number of replies when it does)
THREAD_SHAPES = {"ticket": (0.7, 4.0), "new_work": (0.7, 3.5), "not_work": (0.3, 2.0), "bot": (0.15, 1.5)}
CHANNEL_WEIGHTS = {"social": 0.8, "team": 1.5, "requests": 1.0, "alerts": 0.8, "bots": 0.6}
RATES = {"edit": 0.03, "broadcast": 0.02, "late_reply": 0.05, "tombstone": 0.01, "long": 0.003, "cite_id": 0.15,
         "cite_url": 0.10, "no_ticket_hint": 0.4, "team_ticket": 0.8, "backlog_ticket": 0.15}
# A thread about a ticket is mostly posted while the ticket is active: from shortly before it is filed
# (the report that leads to it) until shortly after Linear completes or cancels it (verification,
# follow-ups), or any time while it stays open. The rest ("backlog_ticket") discuss any ticket filed
# by then, however old.
ACTIVE_BEFORE_US = 2 * DAY_US
ACTIVE_AFTER_US = 7 * DAY_US


def generate_slack(world: World, rng: random.Random, *, bad_records: int, app_kind: str) -> SlackWorkspace:
    ids = _IdMaker(rng)
    workspace = SlackWorkspace(team_id=ids.new("T"), name=world.company.name, domain=world.company.slug,
                               now_us=_us(world.now), lock=world.lock, app_kind=app_kind)
    _add_users(workspace, world.people, rng, ids, now_s=_us_to_s(_us(world.now)))
    _add_channels(workspace, world, rng, ids)
    writer = HistoryWriter(workspace, world, rng)
    written = writer.add_set_pieces()
    writer.fill_workspace(max(world.scale.messages - written, len(workspace.channels) * 2))
    writer.add_bad_records(bad_records)
    return workspace


def grow_old_history(world: World, rng: random.Random, factor: float, channel_id: str | None) -> int:
    """Prepend older history so each channel holds about ``factor`` times its messages."""
    workspace = world.slack
    channels = [workspace.channel(channel_id)] if channel_id else list(workspace.channels.values())
    writer = HistoryWriter(workspace, world, rng)
    added = 0
    for channel in channels:
        wanted = round(len(channel.by_ts) * (factor - 1))
        if wanted < 1 or not channel.history:
            continue
        earliest, latest = channel.history[0], max(channel.by_ts)
        start = earliest - max(DAY_US, int((latest - earliest) * (factor - 1)))
        added += writer.fill_channel(channel, wanted, start, earliest)
        channel.created = min(channel.created, start // SECOND_US - 86400)
    workspace.version += 1
    return added


# ---- users and channels ----------------------------------------------------------------------

class _IdMaker:
    """Slack-style ids ("U" + 10 of [A-Z0-9]), unique within a world."""

    def __init__(self, rng: random.Random):
        self._rng = rng
        self._seen: set[str] = set()

    def new(self, prefix: str) -> str:
        while True:
            candidate = prefix + "".join(self._rng.choices(ID_ALPHABET, k=10))
            if candidate not in self._seen:
                self._seen.add(candidate)
                return candidate


def _add_users(workspace: SlackWorkspace, people: list[Person], rng: random.Random, ids: _IdMaker, *,
               now_s: int) -> None:
    updated = now_s - 400 * 86400
    _add_user(workspace, SlackUser(id=SLACKBOT_ID, name="slackbot", real_name="Slackbot", updated=updated))
    for i, person in enumerate(people):
        tz, tz_label, tz_offset = person.tz
        _add_user(workspace, SlackUser(
            id=ids.new("U"), name=person.handle, real_name=person.real_name, title=person.title,
            email=person.email, tz=tz, tz_label=tz_label, tz_offset=tz_offset, deleted=person.deactivated,
            is_admin=i == 0, updated=updated + rng.randrange(300 * 86400), color=f"{rng.randrange(0x1000000):06x}",
        ))
    workspace.app_bot = _add_bot(workspace, ids, "pmflow", "pmflow", updated)
    _add_bot(workspace, ids, "deploybot", "Deploy Bot", updated)
    alerts = SlackBot(id=ids.new("B"), name="alertmanager", app_id=ids.new("A"))
    workspace.bots[alerts.id] = alerts


def _add_user(workspace: SlackWorkspace, user: SlackUser) -> None:
    workspace.users[user.id] = user


def _add_bot(workspace: SlackWorkspace, ids: _IdMaker, name: str, real_name: str, updated: int) -> SlackBot:
    bot = SlackBot(id=ids.new("B"), name=name, app_id=ids.new("A"), user_id=ids.new("U"))
    workspace.bots[bot.id] = bot
    _add_user(workspace, SlackUser(id=bot.user_id, name=name, real_name=real_name, is_bot=True, bot_id=bot.id,
                                   app_id=bot.app_id, updated=updated))
    return bot


def _channel_specs(rng: random.Random, world: World) -> list[tuple[str, str, str, bool, bool]]:
    """(name, purpose, profile, is_private, is_archived) for ``world.scale.channels`` channels."""
    wanted = world.scale.channels
    team_keys = {key for key, _ in world.teams}
    public = [c for c in vocab.CORE_CHANNELS if not c[2].startswith("team:") or c[2][5:] in team_keys]
    private = vocab.PRIVATE_CHANNELS[: 1 if wanted < 10 else 2]
    n_public = wanted - len(private) - len(vocab.ARCHIVED_CHANNELS)
    specs = [(*spec, False, False) for spec in public[:n_public]]
    names = {spec[0] for spec in specs}
    while len(specs) < n_public:
        name = f"{rng.choice(vocab.EXTRA_CHANNEL_PREFIXES)}-{rng.choice(vocab.EXTRA_CHANNEL_WORDS)}"
        if name not in names:
            names.add(name)
            team = rng.choice(sorted(team_keys))
            specs.append((name, f"Working group: {name.split('-', 1)[1]}", f"team:{team}", False, rng.random() < 0.12))
    specs += [(*spec, True, False) for spec in private]
    specs += [(*spec, False, True) for spec in vocab.ARCHIVED_CHANNELS]
    return specs


def _add_channels(workspace: SlackWorkspace, world: World, rng: random.Random, ids: _IdMaker) -> None:
    history_start_s = _us_to_s(_us(world.now)) - world.scale.span_days * 86400
    humans = [u.id for u in workspace.users.values() if _is_human(u)]
    bots = [b.user_id for b in workspace.bots.values() if b.user_id]
    for name, purpose, profile, is_private, is_archived in _channel_specs(rng, world):
        if name == "general":
            members = list(humans)
        else:
            members = rng.sample(humans, max(3, round(len(humans) * rng.uniform(0.3, 0.8))))
        channel = SlackChannel(
            id=ids.new("C"), name=name, purpose=purpose, created=history_start_s - rng.randrange(86400, 60 * 86400),
            creator=rng.choice(humans), is_private=is_private, is_archived=is_archived, is_general=name == "general",
            members=members + bots, profile=profile,
        )
        workspace.channels[channel.id] = channel


def _is_human(user: SlackUser) -> bool:
    return not user.is_bot and user.id != SLACKBOT_ID


def active_human_ids(workspace: SlackWorkspace) -> list[str]:
    return [u.id for u in workspace.users.values() if _is_human(u) and not u.deleted]


# ---- history -----------------------------------------------------------------------------------

class HistoryWriter:
    """Writes messages into a workspace's channels from one random stream."""

    def __init__(self, workspace: SlackWorkspace, world: World, rng: random.Random):
        self.ws = workspace
        self.world = world
        self.rng = rng
        self.now_us = _us(world.now)
        self.span_us = world.scale.span_days * DAY_US
        self.org = world.company.slug
        self.active = active_human_ids(workspace)
        self.deploybot = next(b for b in workspace.bots.values() if b.name == "deploybot")
        self.alertbot = next(b for b in workspace.bots.values() if b.name == "alertmanager")
        self.tickets_by_team: dict[str, list[TicketSeed]] = {}
        for ticket in world.tickets:
            self.tickets_by_team.setdefault(ticket.team_key, []).append(ticket)
        self._windows: dict[int, tuple[list[int], list[int]]] = {}
        self._untracked = iter(())
        self._humans: dict[str, list[str]] = {}
        # Choices about which pull request a reply links draw from their own stream, so that
        # the rest of the history is the same whatever GitHub holds.
        self._pull_rng = random.Random(f"{world.seed}:slack-pulls")

    # ---- volume ------------------------------------------------------------------------------
    def fill_workspace(self, budget: int) -> None:
        """Spread ``budget`` messages over the channels, each within its active period."""
        channels = list(self.ws.channels.values())
        weights = [CHANNEL_WEIGHTS[_profile(c)] * (0.5 if c.is_private else 1.0) * self.rng.uniform(0.7, 1.3)
                   for c in channels]
        total = sum(weights)
        start = self.now_us - self.span_us
        for channel, weight in zip(channels, weights, strict=True):
            budget_here = round(budget * weight / total)
            joins = self._add_joins(channel)
            end = self.now_us - (self.span_us * 3 // 10 if channel.is_archived else HOUR_US)
            self.fill_channel(channel, max(2, budget_here - joins), start, end)

    def fill_channel(self, channel: SlackChannel, budget: int, start_us: int, end_us: int) -> int:
        """Add about ``budget`` messages (threads included) dated in [start_us, end_us)."""
        mix = MIXES[_profile(channel)]
        kinds, weights = list(mix), list(mix.values())
        average = sum(w * (1 + THREAD_SHAPES[k][0] * THREAD_SHAPES[k][1]) for k, w in mix.items()) / sum(weights)
        count = len(channel.by_ts)
        for ts in sorted(self.rng.randrange(start_us, end_us) for _ in range(max(1, round(budget / average)))):
            self._thread(channel, ts, self.rng.choices(kinds, weights)[0], end_us)
        return len(channel.by_ts) - count

    def _add_joins(self, channel: SlackChannel) -> int:
        joiners = [m for m in channel.members[:2] if m in self.ws.users]
        ts = channel.created * SECOND_US
        for user in joiners:
            ts += self.rng.randrange(SECOND_US, HOUR_US)
            self._top(channel, ts, user, f"<@{user}> has joined the channel", NOT_WORK, subtype="channel_join")
        return len(joiners)

    # ---- threads ---------------------------------------------------------------------------------
    def _thread(self, channel: SlackChannel, ts: int, kind: str, cap: int) -> None:
        work = None
        if kind == "bot":
            parent = self._bot_message(channel, ts)
            reply_texts = vocab.BOT_REPLIES
        else:
            author = self._author(channel)
            text, truth, reply_texts, work = self._opener(channel, kind, author, ts)
            parent = self._top(channel, ts, author, text, truth)
            self._maybe_edit(parent)
        probability, mean = THREAD_SHAPES[kind]
        if self.rng.random() < probability:
            self._replies(channel, parent, self._reply_count(mean), reply_texts, cap, work)
            if parent.replies and parent.bot_id is None and self.rng.random() < RATES["tombstone"]:
                make_tombstone(parent)

    def _opener(self, channel: SlackChannel, kind: str, author: str, ts: int):
        """(text, truth, reply templates, work item or None) of a human's top-level message."""
        if kind == "ticket":
            ticket = self._ticket_for(channel, ts)
            text = self._ticket_opener(ticket, author, ts)
            return text, ("ticket", ticket.identifier), vocab.WORK_REPLIES, ticket.work
        if kind == "new_work":
            work = self._next_untracked()
            text = self._paraphrase(work, author)
            if self.rng.random() < RATES["no_ticket_hint"]:
                text = f"{text} {self.rng.choice(vocab.NO_TICKET_HINTS)}"
            return text, NEW_WORK, vocab.WORK_REPLIES + vocab.NEW_WORK_REPLIES, work
        return self._fill(self.rng.choice(vocab.CHIT_CHAT), author), NOT_WORK, vocab.CHAT_REPLIES, None

    def _ticket_opener(self, ticket: TicketSeed, author: str, ts: int) -> str:
        roll = self.rng.random()
        if ts >= _us(ticket.created_at) and roll < RATES["cite_id"] + RATES["cite_url"]:
            templates = vocab.CITE_ID if roll < RATES["cite_id"] else vocab.CITE_URL
            return self._fill(self.rng.choice(templates), author, ident=ticket.identifier,
                              title=ticket.title[:1].lower() + ticket.title[1:], url=ticket.url)
        return self._paraphrase(ticket.work, author)

    def _paraphrase(self, work: WorkItem, author: str) -> str:
        templates = {"bug": vocab.PARAPHRASE_BUG, "feature": vocab.PARAPHRASE_FEATURE, "chore": vocab.PARAPHRASE_CHORE}
        problem = self.rng.choice(work.problem_chat)
        if work.qualifier and work.kind == "bug" and self.rng.random() < 0.6:
            problem += work.qualifier
        return self._fill(self.rng.choice(templates[work.kind]), author, alias=self.rng.choice(work.aliases),
                          problem=problem, since=self.rng.choice(vocab.SINCE), ask=self.rng.choice(vocab.ASKS))

    def _replies(self, channel: SlackChannel, parent: SlackMessage, count: int, templates, cap: int,
                 work: WorkItem | None) -> None:
        participants = [self._author(channel) for _ in range(self.rng.randint(1, 4))]
        if parent.user in self.ws.users and not self.ws.users[parent.user].is_bot:
            participants.append(parent.user)
        ts = parent.ts
        for i in range(count):
            ts += int(self.rng.expovariate(1 / (40 * 60 if i == 0 else 90 * 60)) * SECOND_US) + SECOND_US
            if ts >= cap:
                break
            author = self.rng.choice(participants)
            if self.rng.random() < RATES["long"]:
                text = self._long_text()
            else:
                text = self._work_reply(self.rng.choice(templates), templates, author, work, ts)
            broadcast = self.rng.random() < RATES["broadcast"]
            self._maybe_edit(self._reply(channel, parent, ts, author, text, broadcast=broadcast))
        if parent.ts < cap - 14 * DAY_US and self.rng.random() < RATES["late_reply"]:
            late = min(parent.ts + self.rng.randrange(7 * DAY_US, 60 * DAY_US), cap - SECOND_US)
            if not parent.replies or late > parent.replies[-1].ts:
                self._reply(channel, parent, late, self.rng.choice(participants), self.rng.choice(LATE_REPLY_TEXTS))

    def _work_reply(self, template: str, templates, author: str, work: WorkItem | None, ts: int) -> str:
        """A reply; one linking a pull request links a real one about the thread's work, opened by
        then, or becomes another reply when there is none."""
        pull = self._pull_about(work, ts) if "{pr}" in template else None
        if "{pr}" in template and pull is None:
            template = self._pull_rng.choice([t for t in templates if "{pr}" not in t])
        fields = {"repo": pull[0], "pr": pull[1]} if pull else {}
        return self._fill(template, author, alias=self._alias(work), **fields)

    def _pull_about(self, work: WorkItem | None, ts: int) -> tuple[str, int] | None:
        """(repository name, number) of a pull request about ``work`` created before ``ts``, or None."""
        if work is None:
            return None
        pulls = [(repo, p) for repo, p in self.world.github.pulls_by_work.get(work, ()) if _us(p.created_at) <= ts]
        if not pulls:
            return None
        repo, pull = self._pull_rng.choice(pulls)
        return repo, pull.number

    def _reply_count(self, mean: float) -> int:
        return min(50, 1 + round(self.rng.expovariate(1 / (mean - 1))))

    def _bot_message(self, channel: SlackChannel, ts: int) -> SlackMessage:
        alerts_first = {"alerts": 0.8, "bots": 0.1}.get(_profile(channel), 0.5)
        if self.rng.random() < alerts_first:
            alert, value = self.rng.choice(vocab.ALERTS)
            target = f"{self.rng.choice(vocab.SERVICES)}-{self.rng.randint(1, 6)}"
            text = self.rng.choice(vocab.ALERT_MESSAGES).format(alert=alert, value=value, target=target)
            return self._top(channel, ts, None, text, NOT_WORK, subtype="bot_message",
                             bot_id=self.alertbot.id, username=self.alertbot.name)
        text = self.rng.choice(vocab.DEPLOY_MESSAGES).format(
            service=self.rng.choice(vocab.SERVICES), env=self.rng.choice(("production", "staging")),
            version=f"v2.{self.rng.randint(0, 60)}.{self.rng.randint(0, 9)}", build=self.rng.randint(1000, 9999))
        return self._top(channel, ts, self.deploybot.user_id, text, NOT_WORK, bot_id=self.deploybot.id)

    # ---- set pieces ------------------------------------------------------------------------------
    def add_set_pieces(self) -> int:
        """The edge cases every world contains; returns how many messages they added."""
        before = sum(len(c.by_ts) for c in self.ws.channels.values())
        general = next(c for c in self.ws.channels.values() if c.is_general)
        work = next(c for c in self.ws.channels.values() if c.name == "eng")
        a, b = self.active[0], self.active[1]
        self._cited_thread(work, self.now_us - 10 * DAY_US, a, b)
        self._long_thread(work, self.now_us - 6 * DAY_US, a, b)
        tombstone = self._top(work, self.now_us - 8 * DAY_US, b, self._paraphrase(self._next_untracked(), b), NEW_WORK)
        for hours in (1, 3):
            self._reply(work, tombstone, tombstone.ts + hours * HOUR_US, a, self.rng.choice(vocab.NEW_WORK_REPLIES))
        make_tombstone(tombstone)
        ticket = self._ticket_for(work, self.now_us - 40 * DAY_US)
        old = self._top(work, self.now_us - 40 * DAY_US, a, self._paraphrase(ticket.work, a),
                        ("ticket", ticket.identifier))
        self._reply(work, old, old.ts + 2 * HOUR_US, b, "I can take a look after standup")
        self._reply(work, old, self.now_us - DAY_US, b, self.rng.choice(LATE_REPLY_TEXTS))
        self._top(general, self.now_us - 3 * DAY_US, a,
                  "<!channel> the new on-call rota is live, details in <https://example.com/handbook|the handbook>",
                  NOT_WORK)
        self._top(general, self.now_us - 2 * DAY_US, b, f"🎉 Ça marche — merci <@{a}>! :tada: 李雷 也同意 👍", NOT_WORK)
        lunch = self._top(general, self.now_us - DAY_US, b, "Lunch order closes at 12:00 (not 11:30!) :burrito:",
                          NOT_WORK)
        lunch.edited = (b, lunch.ts + 5 * 60 * SECOND_US)
        self._top(work, self.now_us - 5 * DAY_US, None, "[FIRING:1] HighErrorRate api-gateway (5.2% > 2%)", NOT_WORK,
                  subtype="bot_message", bot_id=self.alertbot.id, username=self.alertbot.name)
        self._top(work, self.now_us - 4 * DAY_US, self.deploybot.user_id,
                  "Deployed `api` v2.31.4 to production :rocket:", NOT_WORK, bot_id=self.deploybot.id)
        return sum(len(c.by_ts) for c in self.ws.channels.values()) - before

    def _cited_thread(self, channel: SlackChannel, ts: int, a: str, b: str) -> None:
        ticket = next((t for t in self.world.tickets if _us(t.created_at) < ts), self.world.tickets[0])
        parent = self._top(channel, ts, a, f"Picking up {ticket.identifier} today ({ticket.title})",
                           ("ticket", ticket.identifier))
        self.rng.randint(100, 2000)  # unused draw: keeps the random stream, so every seed's history, unchanged
        pull = self._pull_about(ticket.work, ts + HOUR_US)
        link = f" <https://github.com/{self.org}/{pull[0]}/pull/{pull[1]}|#{pull[1]}>" if pull else ""
        self._reply(channel, parent, ts + HOUR_US, b, f"<@{a}> happy to review :eyes:{link}")
        self._reply(channel, parent, ts + 2 * HOUR_US, a,
                    f"<{ticket.url}|{ticket.identifier}> updated with the repro steps")
        self._reply(channel, parent, ts + 3 * HOUR_US, b, "thanks! :tada: 🎉")

    def _long_thread(self, channel: SlackChannel, ts: int, a: str, b: str) -> None:
        """A thread longer than one page of 15 with a broadcast, an edit and a >4,000-char reply."""
        ticket = self._ticket_for(channel, ts)
        parent = self._top(channel, ts, a, self._paraphrase(ticket.work, a), ("ticket", ticket.identifier))
        replies = 17 if self.world.scale.messages < 200 else 40
        for i in range(replies):
            author = (a, b)[i % 2]
            reply_ts = ts + (i + 1) * 10 * 60 * SECOND_US
            if i == 3:
                text = self._long_text()
            else:
                template = self.rng.choice(vocab.WORK_REPLIES)
                text = self._work_reply(template, vocab.WORK_REPLIES, author, ticket.work, reply_ts)
            reply = self._reply(channel, parent, reply_ts, author, text, broadcast=i == 5)
            if i == 2:
                reply.edited = (author, reply.ts + 60 * SECOND_US)

    # ---- bad records -----------------------------------------------------------------------------
    def add_bad_records(self, count: int) -> None:
        """Malformed history entries (cycling through ``BAD_RECORD_KINDS``) for quarantine tests."""
        channels = [c for c in self.ws.channels.values() if c.history]
        for i in range(count):
            channel = self.rng.choice(channels)
            anchor = self.rng.choice(channel.history)
            reason = BAD_RECORD_KINDS[i % len(BAD_RECORD_KINDS)]
            # numbered: two identical payloads would be one record served twice (quarantine is idempotent)
            payload = {"type": "message", "user": self.rng.choice(self.active),
                       "text": f"this record is malformed (#{i + 1})", "ts": _format_free_ts(channel, anchor)}
            if reason == "missing_ts":
                del payload["ts"]
            elif reason == "ts_not_a_number":
                payload["ts"] = "yesterday"
            elif reason == "user_wrong_type":
                payload["user"] = self.rng.randint(10_000, 99_999)
            else:
                payload["text"] = {"unexpected": ["object"]}
            channel.bad_records.setdefault(anchor, []).append(BadRecord(anchor, payload, reason))

    # ---- primitives ------------------------------------------------------------------------------
    def _top(self, channel: SlackChannel, ts: int, user: str | None, text: str, truth, **fields) -> SlackMessage:
        message = SlackMessage(_free_ts(channel, ts), user, text, truth=truth, **fields)
        channel.add(message, in_history=True)
        return message

    def _reply(self, channel: SlackChannel, parent: SlackMessage, ts: int, user: str, text: str, *,
               broadcast: bool = False) -> SlackMessage:
        reply = SlackMessage(_free_ts(channel, ts), user, text, thread_ts=parent.ts, parent_user=parent.user,
                             subtype="thread_broadcast" if broadcast else None)
        parent.add_reply(reply)
        channel.add(reply, in_history=broadcast)
        return reply

    def _maybe_edit(self, message: SlackMessage) -> None:
        if self.rng.random() < RATES["edit"]:
            message.edited = (message.user, min(message.ts + self.rng.randrange(20, 3 * 3600) * SECOND_US,
                                                self.now_us - SECOND_US))

    def _author(self, channel: SlackChannel) -> str:
        """A human member; deactivated people post too (they wrote the older history)."""
        humans = self._humans.get(channel.id)
        if humans is None:
            humans = [m for m in channel.members if m in self.ws.users and _is_human(self.ws.users[m])]
            self._humans[channel.id] = humans or self.active
        return self.rng.choice(self._humans[channel.id])

    def _ticket_for(self, channel: SlackChannel, ts: int) -> TicketSeed:
        """The ticket a thread posted at ``ts`` discusses: one active then (filed at most
        ``ACTIVE_BEFORE_US`` later, completed or canceled at most ``ACTIVE_AFTER_US`` earlier, or
        still open) or, for a share ``backlog_ticket``, any ticket filed by then; of the channel's
        team mostly. Falls back to any ticket (of the team) when none fits (history older than
        every ticket)."""
        team = channel.profile[5:] if channel.profile.startswith("team:") else None
        pool = self.world.tickets
        if team in self.tickets_by_team and self.rng.random() < RATES["team_ticket"]:
            pool = self.tickets_by_team[team]
        windows = self._windows.get(id(pool))
        if windows is None:  # tickets are in creation order
            windows = self._windows[id(pool)] = ([_us(t.created_at) for t in pool],
                                                 [self._active_until(t) for t in pool])
        created, until = windows
        filed = bisect.bisect_right(created, ts + ACTIVE_BEFORE_US)
        if self.rng.random() < RATES["backlog_ticket"]:
            candidates = pool[:filed]
        else:
            candidates = [pool[i] for i in range(filed) if until[i] >= ts]
        return self.rng.choice(candidates or pool)

    def _active_until(self, ticket: TicketSeed) -> int:
        """End of the period a ticket is talked about: ``ACTIVE_AFTER_US`` after Linear completed or
        canceled it; open tickets, never (the Linear workspace is generated from its own stream)."""
        issue = self.world.linear.issue(ticket.identifier)
        ended = issue.completed_at or issue.canceled_at
        return _us(ended) + ACTIVE_AFTER_US if ended is not None else self.now_us + DAY_US

    def _alias(self, work: WorkItem | None) -> str:
        return self.rng.choice(work.aliases) if work else "this"

    def _next_untracked(self) -> WorkItem:
        item = next(self._untracked, None)
        if item is None:
            self._untracked = iter(self.rng.sample(self.world.untracked_work, len(self.world.untracked_work)))
            item = next(self._untracked)
        return item

    def _fill(self, template: str, author: str, alias: str = "this", **fields) -> str:
        """Format a template with the shared fields: a mention of someone else, a customer, a PR."""
        mention = self.rng.choice(self.active)
        if mention == author:
            mention = self.active[(self.active.index(mention) + 1) % len(self.active)]
        values = {"mention": f"<@{mention}>", "customer": self.rng.choice(vocab.CUSTOMERS), "alias": alias,
                  "org": self.org, "repo": self.rng.choice(vocab.REPOS), "pr": self.rng.randint(100, 2000)}
        return template.format(**(values | fields))

    def _long_text(self) -> str:
        parts = ["Pasting the full write-up here so it's searchable:"]
        while sum(len(p) for p in parts) < 4200:
            parts.extend(self.rng.sample(vocab.LONG_PARAGRAPHS, len(vocab.LONG_PARAGRAPHS)))
        return "\n\n".join(parts)


def _profile(channel: SlackChannel) -> str:
    return channel.profile.split(":", 1)[0]


def _free_ts(channel: SlackChannel, ts: int) -> int:
    while ts in channel.by_ts:
        ts += 1
    return ts


def _format_free_ts(channel: SlackChannel, anchor: int) -> str:
    """A valid-looking ts just older than ``anchor`` that no real message uses."""
    ts = anchor - 1
    while ts in channel.by_ts:
        ts -= 1
    return format_ts(ts)


def _us(moment) -> int:
    return int(moment.timestamp()) * SECOND_US + moment.microsecond


def _us_to_s(ts_us: int) -> int:
    return ts_us // SECOND_US
