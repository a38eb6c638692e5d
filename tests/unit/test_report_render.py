"""Rendering within Slack's limits: 50 blocks, 3000 characters per section, 150 per header; lists cut
with "…and N more"; quiet and empty sections rendered as a line, never as nothing."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from pmflow.reports.model import Item, Report, Section
from pmflow.reports.render import (
    MAX_BLOCKS,
    MAX_HEADER_CHARS,
    MAX_SECTION_CHARS,
    fit_lines,
    to_blocks,
    to_markdown,
)

START, END = datetime(2026, 11, 19, 8, tzinfo=UTC), datetime(2026, 11, 20, 8, tzinfo=UTC)


def make_report(sections, **overrides) -> Report:
    values = dict(kind="daily", workspace_id="W", team="ENG", team_name="Engineering", timezone="Europe/Paris",
                  report_date=date(2026, 11, 20), window_start=START, window_end=END, title="ENG standup",
                  context="Engineering", headline="1 done", sections=sections)
    values.update(overrides)
    return Report(**values)


def section_texts(blocks):
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def test_a_section_too_long_for_slack_is_cut_with_and_n_more():
    items = [Item(text="a fairly long ticket title that repeats " * 3, ref=f"ENG-{n}",
                  url=f"https://linear.app/x/issue/ENG-{n}", details=["Ada Lovelace", "Execution 2.0 d"])
             for n in range(200)]
    report = make_report([Section("in_progress", "In progress", items)])
    blocks = to_blocks(report)
    text = section_texts(blocks)[-1]
    assert len(text) <= MAX_SECTION_CHARS
    shown = text.count("\n• ")
    assert 0 < shown < 200
    assert text.endswith(f"_…and {200 - shown} more_")
    assert "## In progress (200)" in to_markdown(report)  # Markdown has them all


def test_items_cut_before_rendering_are_counted_in_and_n_more():
    section = Section("up_next", "Up next", [Item(text="t", ref="ENG-1")], total=12)
    report = make_report([section])
    assert section_texts(to_blocks(report))[-1].endswith("_…and 11 more_")
    assert "- _…and 11 more_" in to_markdown(report)
    assert "## Up next (12)" in to_markdown(report)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=900), max_size=80), st.integers(min_value=0, max_value=50))
def test_fit_lines_never_exceeds_the_limit_and_accounts_for_every_line(lengths, more):
    lines = ["x" * n for n in lengths]
    text = fit_lines("*Header*", lines, more)
    assert len(text) <= MAX_SECTION_CHARS
    shown = text.count("\n") - (1 if "_…and " in text else 0)
    if "_…and " in text:
        assert text.endswith(f"_…and {len(lines) - shown + more} more_")
    else:
        assert shown == len(lines) and more == 0


def test_at_most_50_blocks_and_the_footer_stays():
    sections = [Section(f"s{n}", f"Section {n}", [Item(text="x")]) for n in range(80)]
    blocks = to_blocks(make_report(sections))
    assert len(blocks) == MAX_BLOCKS
    assert blocks[-1]["elements"][0]["text"] == "pmflow daily report · ENG · 2026-11-20"
    assert "more sections in the full report" in blocks[-2]["elements"][0]["text"]


def test_long_titles_fit_in_a_header_and_data_cannot_ping_from_it():
    blocks = to_blocks(make_report([], title="@channel " + "very long team name " * 20))
    header = blocks[0]["text"]["text"]
    assert len(header) <= MAX_HEADER_CHARS and header.endswith("…") and "@channel" not in header


def test_empty_sections_say_so_and_notes_are_honest():
    report = make_report([
        Section("done", "Done", empty="Nothing completed."),
        Section("spend", "AI spend", notes=["no cost data yet"]),
        Section("in_progress", "In progress", [Item(text="t", ref="ENG-1")], notes=["no journey data yet"]),
    ])
    markdown = to_markdown(report)
    assert "## Done\n\n_Nothing completed._" in markdown
    assert "## AI spend\n\n_no cost data yet_" in markdown
    assert "- **ENG-1** t\n\n_no journey data yet_" in markdown
    texts = section_texts(to_blocks(report))
    assert "*Done*\n_Nothing completed._" in texts
    assert "*AI spend*\n_no cost data yet_" in texts
    assert "*In progress (1)*\n• *ENG-1* t\n_no journey data yet_" in texts


def test_a_summary_is_escaped_and_labelled_as_ai():
    report = make_report([], summary="All good <!here> *really*", summary_model="gpt-4o-mini")
    blocks = json.dumps(to_blocks(report))
    assert "<!here>" not in blocks and "&lt;!here&gt;" in blocks and "AI summary (gpt-4o-mini)" in blocks
    assert "> All good \\<!here\\> \\*really\\*" in to_markdown(report)
