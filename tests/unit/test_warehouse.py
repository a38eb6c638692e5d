import multiprocessing
import time
from datetime import datetime, timezone

import pytest

from warehouse import Batch, Rejected, Warehouse, WarehouseBusyError
from warehouse.migrate import applied_versions, available_migrations

T0 = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)


def message(ts="1.000001", text="hello", **extra):
    row = dict(workspace_id="T1", channel_id="C1", ts=ts, thread_ts=None, user_id="U1", text=text,
               posted_at=T0, edited_at=None, is_deleted=False, reply_count=0)
    return {**row, **extra}


def batch(rows, **kw):
    return Batch("T1", "slack", "messages", "C1", raw=[(f"C1/{r['ts']}", {"ts": r["ts"], "text": r["text"]}) for r in rows],
                 upserts={"core.slack_messages": rows}, **kw)


def test_migrations_apply_once_and_are_recorded(warehouse_path):
    wh = Warehouse(warehouse_path)
    wh.ensure_schema()
    wh.ensure_schema()
    with Warehouse(warehouse_path).connect() as con:
        assert applied_versions(con) == {m.version for m in available_migrations()}
        assert con.execute("SELECT count(*) FROM ops.schema_migrations").fetchone()[0] == len(available_migrations())


def test_merge_inserts_updates_and_ignores_identical_rows(warehouse_path):
    wh = Warehouse(warehouse_path)
    first = wh.write(batch([message("1.000001"), message("2.000001")]))
    assert (first.read, first.inserted, first.updated) == (2, 2, 0)
    again = wh.write(batch([message("1.000001"), message("2.000001")]))
    assert (again.inserted, again.updated) == (0, 0)
    edited = wh.write(batch([message("1.000001", text="edited", edited_at=T0), message("3.000001")]))
    assert (edited.inserted, edited.updated) == (1, 1)
    assert wh.query("SELECT ts, text FROM core.slack_messages ORDER BY ts") == [
        ("1.000001", "edited"), ("2.000001", "hello"), ("3.000001", "hello")]


def test_raw_keeps_one_row_per_distinct_payload_version(warehouse_path):
    wh = Warehouse(warehouse_path)
    wh.write(batch([message("1.000001")]))
    wh.write(batch([message("1.000001")]))
    wh.write(batch([message("1.000001", text="v2")]))
    assert wh.query("SELECT count(*) FROM raw.slack_messages") == [(2,)]


def test_partial_rows_update_only_their_columns(warehouse_path):
    wh = Warehouse(warehouse_path)
    wh.write(batch([message("1.000001", text="keep me")]))
    wh.write(Batch("T1", "slack", "messages", "C1", upserts=[
        ("core.slack_messages", [dict(workspace_id="T1", channel_id="C1", ts="1.000001", is_deleted=True)])]))
    assert wh.query("SELECT text, is_deleted FROM core.slack_messages") == [("keep me", True)]


def test_last_row_for_a_key_wins_within_a_batch(warehouse_path):
    wh = Warehouse(warehouse_path)
    counts = wh.write(batch([message("1.000001", text="old"), message("1.000001", text="new")]))
    assert counts.inserted == 1
    assert wh.query("SELECT text FROM core.slack_messages") == [("new",)]


def test_quarantine_is_recorded_once_and_counted(warehouse_path):
    wh = Warehouse(warehouse_path)
    bad = [Rejected({"text": "no ts"}, "ts is missing"), Rejected([1, 2], "record is list, expected an object")]
    counts = wh.write(batch([message()], rejected=bad))
    wh.write(batch([message()], rejected=bad))
    assert (counts.read, counts.quarantined) == (3, 2)
    assert counts.read == counts.loaded + counts.quarantined == 1 + 2
    assert sorted(r[0] for r in wh.query("SELECT reason FROM ops.quarantine")) == [
        "record is list, expected an object", "ts is missing"]


def test_cursor_moves_with_the_data_and_not_on_failure(warehouse_path):
    wh = Warehouse(warehouse_path)
    wh.write(batch([message("1.000001")], cursor="1.000001"))
    assert wh.cursor("T1", "slack", "messages", "C1") == "1.000001"
    broken = batch([message("2.000001")], cursor="2.000001")
    broken.upserts = {"core.slack_messages": [{"workspace_id": "T1", "channel_id": "C1"}]}  # no ts: the merge fails
    with pytest.raises(ValueError, match="lack key columns"):
        wh.write(broken)
    assert wh.cursor("T1", "slack", "messages", "C1") == "1.000001"
    assert wh.query("SELECT count(*) FROM raw.slack_messages") == [(1,)]


def _hold_lock(path, seconds, ready):
    wh = Warehouse(path)
    with wh.connect():
        ready.set()
        time.sleep(seconds)


def test_a_second_writer_waits_then_fails_with_a_clear_message(warehouse_path):
    Warehouse(warehouse_path).ensure_schema()
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(warehouse_path, 3, ready))
    holder.start()
    try:
        assert ready.wait(20)
        started = time.monotonic()
        with pytest.raises(WarehouseBusyError, match="is busy"):
            with Warehouse(warehouse_path, lock_timeout_s=0.5).connect():
                pass
        assert time.monotonic() - started < 2.5
        # A patient writer gets in once the holder is done.
        with Warehouse(warehouse_path, lock_timeout_s=30).connect() as con:
            assert con.execute("SELECT 1").fetchone() == (1,)
    finally:
        holder.join()


def test_a_column_that_only_later_rows_carry_is_not_dropped(warehouse_path):
    wh = Warehouse(warehouse_path)
    first, later = message("1.000001"), message("2.000001", subtype="bot_message")
    del first["thread_ts"]
    wh.write(batch([first, later]))
    assert wh.query("SELECT ts, subtype FROM core.slack_messages ORDER BY ts") == [
        ("1.000001", None), ("2.000001", "bot_message")]
