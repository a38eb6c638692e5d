"""Hypothesis strategies for records that look like a source's, with any field broken.

A "nearly valid" record is a valid one with up to three fields replaced by arbitrary JSON or
removed: most pages then mix good rows with rejects, which is where accounting bugs hide. Fully
arbitrary JSON values are mixed in too.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

DELETE = object()  # a mutation that removes the field

json_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)

_zones = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12)),
                          timezone(timedelta(hours=5, minutes=30))])
# Any instant a JSON API could send, years 1 and 9999 included (the edges overflow naive converters).
aware_datetimes = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59),
                               timezones=_zones)
recent_datetimes = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31), timezones=_zones)
iso_text = st.one_of(
    recent_datetimes.map(lambda d: d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"),
    aware_datetimes.map(lambda d: d.isoformat()),
    st.from_regex(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?\Z"),
)
ids = st.text(alphabet="abcdef0123456789-", min_size=1, max_size=12)


def nearly_valid(valid: st.SearchStrategy[dict], *, max_mutations: int = 3) -> st.SearchStrategy:
    """``valid`` records, each with up to ``max_mutations`` top-level fields replaced by arbitrary
    JSON or removed, or an arbitrary JSON value instead of a record."""

    @st.composite
    def mutate(draw):
        record = dict(draw(valid))
        for _ in range(draw(st.integers(0, max_mutations))):
            name = draw(st.sampled_from(sorted(record)) | st.text(max_size=8)) if record else draw(st.text(max_size=8))
            value = draw(st.just(DELETE) | json_values)
            if value is DELETE:
                record.pop(name, None)
            else:
                record[name] = value
        return record

    return st.one_of(mutate(), mutate(), mutate(), json_values)
