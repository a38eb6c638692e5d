"""Property tests: arbitrary JSON never crashes a parse, every record is either a row or a reject
with a reason, and a page of them always loads as read = loaded + quarantined."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.records import parse_page
from connectors.slack import message_key, parse_channel, parse_message, parse_user
from warehouse import Batch, Warehouse
from warehouse.warehouse import canonical_json

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)
# Records that look like Slack's, with any field possibly wrong, missing or of another type.
slack_like = st.fixed_dictionaries(
    {},
    optional={
        "ts": st.one_of(st.from_regex(r"\A\d{10}\.\d{6}\Z"), json_values),
        "thread_ts": st.one_of(st.from_regex(r"\A\d{10}\.\d{6}\Z"), json_values),
        "user": st.one_of(st.from_regex(r"\AU[A-Z0-9]{8}\Z"), json_values),
        "text": st.one_of(st.text(), json_values),
        "reply_count": st.one_of(st.integers(min_value=-5, max_value=50), json_values),
        "edited": st.one_of(st.fixed_dictionaries({"ts": st.from_regex(r"\A\d{10}\.\d{6}\Z")}), json_values),
        "id": st.one_of(st.from_regex(r"\A[CU][A-Z0-9]{8}\Z"), json_values),
        "name": json_values, "created": json_values, "profile": json_values, "subtype": json_values,
    },
)
records = st.lists(st.one_of(slack_like, json_values), max_size=25)

PARSERS = [
    (parse_message, message_key, {"workspace_id": "T1", "channel_id": "C1"}),
    (parse_user, lambda r: r["user_id"], {"workspace_id": "T1"}),
    (parse_channel, lambda r: r["channel_id"], {"workspace_id": "T1"}),
]


@settings(max_examples=300, deadline=None)
@given(records)
def test_parsers_never_crash_and_account_for_every_record(page):
    for parse, key, context in PARSERS:
        parsed = parse_page(page, parse, key, **context)
        assert len(parsed.rows) + len(parsed.rejected) == len(page)
        assert all(r.reason for r in parsed.rejected)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records)
def test_any_page_loads_as_read_equals_loaded_plus_quarantined(tmp_path_factory, page):
    wh = Warehouse(tmp_path_factory.mktemp("w") / "w.duckdb")
    parsed = parse_page(page, parse_message, message_key, workspace_id="T1", channel_id="C1")
    counts = wh.write(Batch("T1", "slack", "messages", "C1", raw=parsed.raw,
                            upserts={"core.slack_messages": parsed.rows}, rejected=parsed.rejected))
    assert counts.read == len(page) == counts.loaded + counts.quarantined
    stored = wh.query("SELECT count(*) FROM core.slack_messages")[0][0]
    assert stored == len({message_key(r) for r in parsed.rows})
    distinct_rejects = {(canonical_json(r.payload), r.reason) for r in parsed.rejected}
    assert wh.query("SELECT count(*) FROM ops.quarantine")[0][0] == len(distinct_rejects)
