"""A Report as Markdown (stored in marts.standups, published as a Prefect artifact, printed by the
demo) and as Slack Block Kit (posted), within Slack's limits: at most 50 blocks, 3000 characters per
section text, 150 per header; a list that does not fit ends with "…and N more".

Every string of the report is escaped for its format (pmflow.reports.escape); only the renderer's own
structure (headings, emphasis, list markers, links built from safe URLs) is markup.
"""
from __future__ import annotations

from pmflow.reports.escape import ELLIPSIS, markdown, markdown_link, mrkdwn, neutralise_mentions, slack_link
from pmflow.reports.model import Item, Report, Section

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_CONTEXT_CHARS = 2000
DETAIL_SEPARATOR = " · "


# -- Markdown ------------------------------------------------------------------------------------


def to_markdown(report: Report) -> str:
    lines = [f"# {markdown(report.title)}", "", f"_{markdown(report.context)}_", "", f"**{markdown(report.headline)}**"]
    if report.summary:
        lines += ["", f"> {markdown(report.summary)}", ">", f"> _AI summary ({markdown(report.summary_model or 'model')})_"]
    for section in report.sections:
        lines += ["", f"## {markdown(_section_title(section))}", ""]
        lines += _markdown_section_body(section)
    return "\n".join(lines).rstrip() + "\n"


def _markdown_section_body(section: Section) -> list[str]:
    lines = []
    for n, item in enumerate(section.items, start=1):
        marker = f"{n}." if section.numbered else "-"
        lines.append(f"{marker} {_markdown_item(item)}")
    if section.more:
        lines.append(f"- _{ELLIPSIS}and {section.more} more_")
    notes = [f"_{markdown(note)}_" for note in section.notes]
    if not section.items:
        lines += notes or [f"_{markdown(section.empty)}_"]
    elif notes:
        lines += [""] + notes
    return lines


def _markdown_item(item: Item) -> str:
    parts = []
    if item.ref:
        parts.append(markdown_link(item.url, item.ref) if item.url else f"**{markdown(item.ref)}**")
    if item.text:
        parts.append(markdown(item.text))
    line = " ".join(parts)
    if item.details:
        line += " — " + DETAIL_SEPARATOR.join(markdown(d) for d in item.details)
    return line


def _section_title(section: Section) -> str:
    if section.show_count and section.count:
        return f"{section.title} ({section.count})"
    return section.title


# -- Slack Block Kit -----------------------------------------------------------------------------


def fallback_text(report: Report) -> str:
    """The message's `text`: what notifications and screen readers show."""
    return mrkdwn(f"{report.title}: {report.headline}")[:3000]


def to_blocks(report: Report) -> list[dict]:
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                    "text": _cut(neutralise_mentions(report.title), MAX_HEADER_CHARS)}},
        _context_block(report.context),
        _section_block(f"*{mrkdwn(report.headline)}*"),
    ]
    if report.summary:
        blocks.append(_section_block(mrkdwn(report.summary)))
        blocks.append(_context_block(f"AI summary ({report.summary_model or 'model'}); the lists below are the record."))
    blocks.append({"type": "divider"})
    for section in report.sections:
        blocks.append(_section_block(_slack_section_text(section)))
    return limit_blocks(blocks, footer=_context_block(report.marker))


def limit_blocks(blocks: list[dict], footer: dict, max_blocks: int = MAX_BLOCKS) -> list[dict]:
    """`blocks` then `footer`, at most `max_blocks` in all: when they do not fit, the block before
    the footer says how many were left out (see the Markdown report for everything)."""
    if len(blocks) + 1 <= max_blocks:
        return blocks + [footer]
    kept = blocks[: max_blocks - 2]
    left_out = len(blocks) - len(kept)
    return kept + [_context_block(f"{ELLIPSIS}and {left_out} more sections in the full report"), footer]


def fit_lines(header: str, lines: list[str], more: int = 0, limit: int = MAX_SECTION_CHARS) -> str:
    """`header` and as many `lines` as fit in `limit` characters, then "…and N more" for the rest
    (N includes `more`, items cut before rendering)."""
    reserve = len(f"\n_{ELLIPSIS}and {len(lines) + more} more_")
    text = _cut(header, limit - reserve)
    shown = 0
    for line in lines:
        candidate = f"{text}\n{line}"
        left_after = len(lines) - shown - 1 + more
        if len(candidate) + (reserve if left_after else 0) > limit:
            break
        text = candidate
        shown += 1
    rest = len(lines) - shown + more
    if rest:
        text += f"\n_{ELLIPSIS}and {rest} more_"
    return text


def _slack_section_text(section: Section) -> str:
    header = f"*{mrkdwn(_section_title(section))}*"
    lines = []
    for n, item in enumerate(section.items, start=1):
        marker = f"{n}." if section.numbered else "•"
        lines.append(_cut(f"{marker} {_slack_item(item)}", 1000))
    notes = [f"_{mrkdwn(note)}_" for note in section.notes]
    if not section.items:
        return fit_lines(header, notes or [f"_{mrkdwn(section.empty)}_"])
    text = fit_lines(header, lines, section.more, MAX_SECTION_CHARS - sum(len(n) + 1 for n in notes))
    return "\n".join([text, *notes])


def _slack_item(item: Item) -> str:
    parts = []
    if item.ref:
        parts.append(slack_link(item.url, item.ref) if item.url else f"*{mrkdwn(item.ref)}*")
    if item.text:
        parts.append(mrkdwn(item.text))
    line = " ".join(parts)
    if item.details:
        line += " — " + DETAIL_SEPARATOR.join(mrkdwn(d) for d in item.details)
    return line


def _section_block(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, MAX_SECTION_CHARS)}}


def _context_block(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(mrkdwn(text), MAX_CONTEXT_CHARS)}]}


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    # Never leave half an escape (&amp;) or half a link (<url|...) at the cut.
    amp, lt = cut.rfind("&"), cut.rfind("<")
    if amp > cut.rfind(";") and amp >= len(cut) - 5:
        cut = cut[:amp]
    if lt > cut.rfind(">"):
        cut = cut[:lt]
    return cut + ELLIPSIS
