"""Text from the warehouse is data: it must never format, link or ping anything in a report.

Every string that comes from Slack, Linear, GitHub or an agent goes through `plain` (Slack markup
turned into readable plain text, one line, length-capped) and then through the escaper of the output
format: `mrkdwn` for Slack (& < > as entities, so `<!channel>` or `<@U123>` cannot be formed) or
`markdown` (backslash escapes, so no link, emphasis or HTML can be formed). Both neutralise
@-mentions (@channel, @here, @everyone, @someone) with an invisible word joiner after the @, so a
pasted or posted report never notifies anyone.
"""
from __future__ import annotations

import html
import re
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

WORD_JOINER = "\u2060"
ELLIPSIS = "…"

_SLACK_TOKEN = re.compile(r"<([^<>]*)>")
_MENTION = re.compile(r"@(?=[\w.-])", re.UNICODE)
_WHITESPACE = re.compile(r"\s+")
# An underscore inside a word (snake_case, America/New_York) cannot open emphasis in CommonMark:
# only those at a word's edge are escaped, so identifiers stay readable.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
_SPECIAL_MENTIONS = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}


def slack_to_plain(text: str | None, users: Mapping[str, str] | None = None,
                   channels: Mapping[str, str] | None = None) -> str:
    """Slack message markup as a person reads it: <@U1> -> @name, <#C1|eng> -> #eng,
    <!here> -> @here, <url|label> -> label, &lt; -> <. (Still to be escaped for output.)"""
    if not text:
        return ""
    users = users or {}
    channels = channels or {}

    def token(match: re.Match) -> str:
        body = match.group(1)
        target, _, label = body.partition("|")
        if target.startswith("@"):
            return "@" + (label or users.get(target[1:], target[1:]))
        if target.startswith("#"):
            return "#" + (label or channels.get(target[1:], target[1:]))
        if target.startswith("!"):
            word = target[1:].split("^", 1)[0]
            if word in _SPECIAL_MENTIONS:
                return _SPECIAL_MENTIONS[word]
            if word == "subteam":
                return label or "@group"
            return label or ""
        return label or target

    return html.unescape(_SLACK_TOKEN.sub(token, text)) if "<" in text else html.unescape(text)


def plain(text: str | None, max_chars: int = 160) -> str:
    """One line, whitespace collapsed, at most `max_chars` characters (cut with '…')."""
    line = _WHITESPACE.sub(" ", text or "").strip()
    if len(line) > max_chars:
        line = line[: max_chars - 1].rstrip() + ELLIPSIS
    return line


def neutralise_mentions(text: str) -> str:
    """'@channel' -> '@\u2060channel': reads the same, notifies no one."""
    return _MENTION.sub("@" + WORD_JOINER, text)


def mrkdwn(text: str | None) -> str:
    """Data as Slack mrkdwn: mentions neutralised, then & < > escaped (Slack's only control
    characters), so no <!everyone>, <@U…> or <url|…> can be formed from data."""
    text = neutralise_mentions(text or "")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markdown(text: str | None) -> str:
    """Data as Markdown: mentions neutralised, then every character that could start emphasis, code,
    a link, a table cell or an HTML tag backslash-escaped."""
    return _MARKDOWN_SPECIAL.sub(lambda m: "\\" + m.group(0), neutralise_mentions(text or ""))


def safe_url(url: str | None) -> str | None:
    """An http(s) URL with every character that could end a link (space, <, >, |, parentheses,
    quotes) percent-encoded; None for anything else (javascript:, relative, empty)."""
    if not url:
        return None
    url = url.strip()
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    if scheme not in ("http", "https"):
        return None
    return quote(url, safe="/:?#[]@!$&*+,;=%-._~")


def slack_link(url: str | None, label: str) -> str:
    """<url|label> in mrkdwn, or just the escaped label when the URL is not safe."""
    href = safe_url(url)
    text = mrkdwn(label)
    if href is None:
        return text
    return f"<{href.replace('&', '&amp;')}|{text}>"


def markdown_link(url: str | None, label: str) -> str:
    """[label](url) in Markdown, or just the escaped label when the URL is not safe."""
    href = safe_url(url)
    text = markdown(label)
    if href is None:
        return text
    return f"[{text}]({href})"
