"""Chat text is data: escaping for Slack mrkdwn and Markdown, and no mention can ping anyone."""
from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from pmflow.reports.escape import (
    WORD_JOINER,
    markdown,
    markdown_link,
    mrkdwn,
    plain,
    safe_url,
    slack_link,
    slack_to_plain,
)

PINGS = re.compile(r"(?<![\w\u2060])@(channel|here|everyone)\b|<!(channel|here|everyone)|<@[UW]", re.I)


def test_mrkdwn_escapes_slacks_three_control_characters():
    assert mrkdwn("a < b && c > d") == "a &lt; b &amp;&amp; c &gt; d"
    assert mrkdwn("<!everyone> <@U123> <https://evil|click>") == "&lt;!everyone&gt; &lt;@⁠U123&gt; &lt;https://evil|click&gt;"


def test_mentions_are_neutralised_but_read_the_same():
    text = mrkdwn("@channel and @here, @everyone, ask @alice")
    assert "@channel" not in text and "@here" not in text and "@everyone" not in text and "@alice" not in text
    assert text.replace(WORD_JOINER, "") == "@channel and @here, @everyone, ask @alice"
    assert "@" + WORD_JOINER + "here" in markdown("hi @here")


def test_slack_markup_becomes_what_a_person_reads():
    users, channels = {"U1": "kim"}, {"C1": "eng"}
    assert slack_to_plain("<@U1> see <#C1> and <#C2|ops>", users, channels) == "@kim see #eng and #ops"
    assert slack_to_plain("<!here> <!channel> <!everyone>") == "@here @channel @everyone"
    assert slack_to_plain("<!subteam^S1|@oncall> <!date^1392734382^{date}|Feb 18>") == "@oncall Feb 18"
    assert slack_to_plain("<https://x.example/a?b=1&amp;c=2|the doc> <https://y.example>") == "the doc https://y.example"
    assert slack_to_plain("1 &lt; 2 &amp;&amp; 3 &gt; 2") == "1 < 2 && 3 > 2"
    assert slack_to_plain(None) == ""


def test_markdown_escapes_links_emphasis_html_and_tables_but_keeps_words():
    assert markdown("[x](javascript:alert(1)) *b* <img src=x> a|b `c` ~d~") == \
        "\\[x\\](javascript:alert(1)) \\*b\\* \\<img src=x\\> a\\|b \\`c\\` \\~d\\~"
    assert markdown("America/New_York user_id") == "America/New_York user_id"
    assert markdown("_emphasis_ and trailing_") == "\\_emphasis\\_ and trailing\\_"


def test_plain_is_one_line_and_capped():
    assert plain("  two\n\nlines\there ") == "two lines here"
    assert plain("x" * 50, 10) == "x" * 9 + "…"


def test_only_http_urls_are_linked_and_they_cannot_break_out():
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("/relative") is None and safe_url("") is None and safe_url(None) is None
    assert safe_url("https://x.example/a b|c>d(e)") == "https://x.example/a%20b%7Cc%3Ed%28e%29"
    assert slack_link("javascript:x", "ENG-1") == "ENG-1"
    assert slack_link("https://x.example/?a=1&b=2", "<b>") == "<https://x.example/?a=1&amp;b=2|&lt;b&gt;>"
    assert markdown_link("https://x.example/(a)", "ENG-1") == "[ENG-1](https://x.example/%28a%29)"
    assert markdown_link(None, "ENG_1*") == "ENG_1\\*"


@given(st.text(alphabet=st.sampled_from(list("<>&@!#|*_[]()`~ \nabcheranlyoUWC1:/")), max_size=80))
def test_no_escaped_text_can_ping_or_open_a_tag(text):
    for rendered in (mrkdwn(text), mrkdwn(slack_to_plain(text)), markdown(slack_to_plain(text))):
        assert not PINGS.search(rendered)
    assert "<" not in mrkdwn(text) and ">" not in mrkdwn(text)
    assert not re.search(r"(?<!\\)[<>\[\]]", markdown(text))
