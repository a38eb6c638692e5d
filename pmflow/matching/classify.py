"""The not-work classifier: a small deterministic rule set for chatter that is not about work.

Bots and system messages (joins, topic changes), greetings, thanks, lunch and social notes,
announcements with nothing to do, and messages too short to say anything (emoji, "+1", "ok").
A rule fires only when no work cue ("broken", "error", "customer", "ticket"...) says otherwise,
so "good morning, checkout is broken again" is still work. It runs after explicit references
(a message citing ENG-123 is linked whatever it looks like) and before retrieval; retrieval adds
its own test (no ticket vocabulary at all), calibrated with the other thresholds.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from pmflow.matching.units import Unit, plain_text, without_code

SYSTEM_SUBTYPES = frozenset({
    "channel_join", "channel_leave", "channel_topic", "channel_purpose", "channel_name", "channel_archive",
    "channel_unarchive", "group_join", "group_leave", "group_topic", "group_purpose", "group_name",
    "pinned_item", "unpinned_item", "bot_add", "bot_remove", "bot_message", "reminder_add", "huddle_thread",
    "channel_convert_to_private", "channel_convert_to_public", "sh_room_created",
})

_SOCIAL = re.compile(
    r"\b(good (morning|night|afternoon|evening)|morning (all|everyone|folks|team)|hello (all|everyone|team)|"
    r"hi (all|everyone|team|folks)|happy (friday|monday|birthday|holidays?|new year)|have a (great|nice|good)|"
    r"welcome|congrat\w*|kudos|shout-?out|thanks?( you)?|thx|ty|cheers|merci|gracias|danke|"
    r"lunch|breakfast|dinner|coffee|cake|pizza|snacks?|drinks|beers?|party|birthday|"
    r"ooo|out of office|on (vacation|holiday|leave|pto)|pto|sick (day|today)|back on (monday|tuesday|wednesday|"
    r"thursday|friday)|running late|be late|few minutes late|all-?hands|town ?hall|offsite|"
    r"office (is )?(closed|open)|watching the (game|match)|the game tonight|weekend|"
    r"check out this (talk|article|video|podcast|post|thread)|buenos d[ií]as|bonjour|ça va|ca va|hola|"
    r"guten (morgen|tag)|qu[eé] tal)\b"
    r"|[早晚]上好|谢谢|你好",
)
_ANNOUNCE = re.compile(r"<!(channel|here|everyone)>")
_WORK_CUE = re.compile(
    r"\b(bugs?|broken|breaks?|error\w*|fail\w*|crash\w*|exception|outage|incident|regression|timeouts?|"
    r"timing out|slow|latency|leak\w*|5\d\d|4\d\d|oom|stack ?trace|customers?|clients?|tickets?|issues?|"
    r"fix(es|ing)?|hotfix|deploy\w*|rollback|release|prod(uction)?|staging|feature|request\w*|support|"
    r"blocked|blocker|migrat\w*|upgrade|refactor|endpoint|api|database|queue|job|pipeline|build|"
    r"should|need(s|ed)?|can we|could we|would be great|any plans)\b",
)
_WORD = re.compile(r"[^\W\d_]{3,}")
_STOP = frozenset("the and for you are but not this that with have has was its it's all any can will just our out "
                  "too lol haha yes yeah nope okay also from".split())
MIN_WORDS = 3
"""A Slack unit whose opener has fewer content words (and whose thread has fewer than twice as
many) says too little to be work."""


@dataclass(frozen=True, slots=True)
class Verdict:
    not_work: bool
    rule: str = ""


WORK = Verdict(False)


def classify(unit: Unit) -> Verdict:
    """Whether the unit is plainly not work, and by which rule."""
    if unit.bot_only:
        return Verdict(True, "bot: every message is from a bot or an app")
    if unit.opener_is_bot:
        return Verdict(True, "bot: opened by a bot or an app (alert, deploy, notification)")
    if unit.subtype in SYSTEM_SUBTYPES:
        return Verdict(True, f"system message ({unit.subtype})")
    if not unit.is_slack:
        return WORK
    opener = plain_text(without_code(unit.opener)).lower()  # the patterns are lower-case
    opener_cue = _WORK_CUE.search(opener) is not None
    if opener_cue:
        return WORK
    opener_words = _content_words(opener)
    social = _SOCIAL.search(opener) is not None
    announcement = _ANNOUNCE.search(unit.opener) is not None
    short = opener_words < MIN_WORDS
    if not (social or announcement or short):
        return WORK
    # only now read the replies: a work cue there keeps the unit as work
    thread = plain_text(without_code(unit.text)).lower()
    cue = _WORK_CUE.search(thread) is not None
    if social and (not cue or opener_words <= 5):
        return Verdict(True, "social: greeting, thanks, food or time off")
    if announcement and not cue:
        return Verdict(True, "announcement with nothing to act on")
    if short and not cue and _content_words(thread) < 2 * MIN_WORDS:
        return Verdict(True, "too short to be about work")
    return WORK


def _content_words(text: str) -> int:
    return sum(1 for word in _WORD.findall(text) if word.lower() not in _STOP)
