"""The DuckDB warehouse: serialised writes, bulk merge on natural keys, cursors and quarantine.

DuckDB admits one read-write process per file, and a read-only open fails while another process
writes. So every connection, reader or writer, is taken under one file lock and held only for a
batch or a query: writers from several processes (or threads) queue for at most `lock_timeout_s`,
then fail with WarehouseBusyError, and a reader slips in between two batches of a running flow.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
from filelock import FileLock, Timeout

from warehouse.migrate import apply_migrations
from warehouse.tables import natural_key

DEFAULT_PATH = "data/warehouse.duckdb"
DEFAULT_LOCK_TIMEOUT_S = 120.0

Rows = Sequence[Mapping[str, Any]] | pa.Table | pd.DataFrame


class WarehouseError(RuntimeError):
    """A warehouse problem explained for a person, not a stack trace."""


class WarehouseBusyError(WarehouseError):
    pass


class WarehouseMissingError(WarehouseError):
    pass


@dataclass(frozen=True)
class Rejected:
    """A record a parser refused, quarantined with its reason instead of being dropped."""

    payload: Any
    reason: str
    record_key: str | None = None


@dataclass
class Batch:
    """Everything one page (or channel, or table) contributes, committed in one transaction.

    `raw` holds the accepted records as received, as (record_key, payload); `upserts` maps a table
    to its typed rows, or is a sequence of (table, rows) pairs when one table takes rows of different
    shapes (say, full rows and partial is_deleted rows); `cursor`, when set, becomes the partition's
    new high-water mark.
    """

    workspace_id: str
    source: str
    stream: str
    partition_key: str = ""
    raw: Sequence[tuple[str, Any]] = ()
    upserts: Mapping[str, Rows] | Sequence[tuple[str, Rows]] = field(default_factory=dict)
    rejected: Sequence[Rejected] = ()
    cursor: str | None = None


@dataclass
class LoadCounts:
    """read = loaded + quarantined; of the loaded records, inserted are new rows, updated changed
    ones, and the rest were already stored as they are."""

    read: int = 0
    loaded: int = 0
    inserted: int = 0
    updated: int = 0
    quarantined: int = 0

    def __add__(self, other: LoadCounts) -> LoadCounts:
        return LoadCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


class Warehouse:
    def __init__(self, path: str | os.PathLike | None = None, *, lock_timeout_s: float | None = None):
        self.path = Path(path or os.environ.get("PMFLOW_WAREHOUSE") or DEFAULT_PATH)
        self.lock_timeout_s = (
            lock_timeout_s
            if lock_timeout_s is not None
            else float(os.environ.get("PMFLOW_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT_S))
        )
        self._lock = FileLock(f"{self.path}.lock")
        self._migrated = False

    # -- connections ---------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self._lock.acquire(timeout=self.lock_timeout_s)
        except Timeout:
            raise WarehouseBusyError(
                f"The warehouse {self.path} is busy: another pmflow process has held it for "
                f"{self.lock_timeout_s:.0f} s. Try again when it finishes, or raise PMFLOW_LOCK_TIMEOUT."
            ) from None
        try:
            yield
        finally:
            self._lock.release()

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection, migrations applied, held under the write lock."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._locked():
            con = duckdb.connect(str(self.path))
            try:
                if not self._migrated:
                    apply_migrations(con)
                    self._migrated = True
                yield con
            finally:
                con.close()

    @contextmanager
    def read(self, *, sandboxed: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection. Sandboxed (the default for user SQL): no file access beyond the
        warehouse, no extension loading, and a locked configuration that SET cannot change."""
        if not self.path.exists():
            raise WarehouseMissingError(
                f"No warehouse at {self.path} yet. Run `pmflow demo` or `pmflow run ingest` first."
            )
        config = {"enable_external_access": False, "autoload_known_extensions": False}
        with self._locked():
            con = duckdb.connect(str(self.path), read_only=True, config=config if sandboxed else {})
            try:
                if sandboxed:
                    con.execute("SET lock_configuration = true")
                yield con
            finally:
                con.close()

    def ensure_schema(self) -> None:
        with self.connect():
            pass

    # -- writes --------------------------------------------------------------------------------

    def write(self, batch: Batch, *, run_id: str | None = None) -> LoadCounts:
        """Commits a batch atomically: raw payloads, typed upserts, quarantine, cursor, load log."""
        with self.connect() as con:
            return commit_batch(con, batch, run_id)

    def run_sql(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Runs a statement in its own transaction under the write lock."""
        with self.connect() as con:
            con.execute(sql, params or [])

    # -- reads ---------------------------------------------------------------------------------

    def cursor(self, workspace_id: str, source: str, stream: str, partition_key: str = "") -> str | None:
        return self.cursors(workspace_id, source, stream).get(partition_key)

    def cursors(self, workspace_id: str, source: str, stream: str) -> dict[str, str]:
        if not self.path.exists():
            return {}
        with self.connect() as con:
            rows = con.execute(
                "SELECT partition_key, cursor FROM ops.sync_state "
                "WHERE workspace_id = ? AND source = ? AND stream = ?",
                [workspace_id, source, stream],
            ).fetchall()
        return dict(rows)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        with self.connect() as con:
            return con.execute(sql, params or []).fetchall()

    def frame(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        with self.connect() as con:
            return con.execute(sql, params or []).df()


# -- batch internals ---------------------------------------------------------------------------


def commit_batch(con: duckdb.DuckDBPyConnection, batch: Batch, run_id: str | None = None) -> LoadCounts:
    """Writes a batch in one transaction on an open read-write connection (for writers that hold
    the connection themselves, like the fan-out's group commit); rolls back on any error."""
    con.execute("BEGIN TRANSACTION")
    try:
        counts = _write_batch(con, batch, run_id)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts


def _write_batch(con: duckdb.DuckDBPyConnection, batch: Batch, run_id: str | None) -> LoadCounts:
    counts = LoadCounts(read=len(batch.raw) + len(batch.rejected), loaded=len(batch.raw), quarantined=len(batch.rejected))
    if batch.raw:
        _insert_raw(con, batch, run_id)
    upserts = batch.upserts.items() if isinstance(batch.upserts, Mapping) else batch.upserts
    for table, rows in upserts:
        inserted, updated = merge(con, table, rows)
        counts.inserted += inserted
        counts.updated += updated
    if batch.rejected:
        _insert_quarantine(con, batch, run_id)
    if batch.cursor is not None:
        set_cursor(con, batch.workspace_id, batch.source, batch.stream, batch.partition_key, batch.cursor)
    con.execute(
        "INSERT INTO ops.load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
        [run_id, batch.workspace_id, batch.source, batch.stream, batch.partition_key,
         counts.read, counts.inserted, counts.updated, counts.quarantined],
    )
    return counts


def to_arrow(rows: Rows) -> pa.Table:
    """Rows as an Arrow table. Dict rows contribute the union of their keys (Arrow alone would take
    the first row's keys and silently drop the rest); a row without a column has NULL there."""
    if isinstance(rows, pa.Table):
        return rows
    if isinstance(rows, pd.DataFrame):
        return pa.Table.from_pandas(rows, preserve_index=False)
    rows = list(rows)
    columns = dict.fromkeys(name for row in rows for name in row)
    return pa.Table.from_pydict({name: [row.get(name) for row in rows] for name in columns})


def merge(con: duckdb.DuckDBPyConnection, table: str, rows: Rows) -> tuple[int, int]:
    """Bulk upsert on the table's natural key; returns (inserted, updated).

    Only the columns present in `rows` are written, so a partial row (say, just is_deleted) updates
    those columns alone. Rows identical to what is stored count as neither inserted nor updated.
    Within a batch the last row for a key wins. Key columns may not be NULL.
    """
    data = to_arrow(rows)
    if data.num_rows == 0:
        return 0, 0
    keys = natural_key(table)
    columns = data.column_names
    missing = [k for k in keys if k not in columns]
    if missing:
        raise ValueError(f"rows for {table} lack key columns {missing}")
    if any(data.column(k).null_count for k in keys):
        raise ValueError(f"rows for {table} have NULL in a key column {list(keys)}")
    values = [c for c in columns if c not in keys]
    con.register("_pmflow_batch", _last_row_per_key(data, keys))
    try:
        on = " AND ".join(f"t.{_q(k)} = s.{_q(k)}" for k in keys)
        changed = " OR ".join(f"t.{_q(c)} IS DISTINCT FROM s.{_q(c)}" for c in values) or "false"
        update = ", ".join(f"{_q(c)} = s.{_q(c)}" for c in values)
        matched = f"WHEN MATCHED AND ({changed}) THEN UPDATE SET {update} " if values else ""
        actions = con.execute(
            f"MERGE INTO {table} AS t USING _pmflow_batch AS s ON {on} {matched}"
            f"WHEN NOT MATCHED THEN INSERT ({_cols(columns)}) VALUES ({_cols(columns, 's.')}) "
            "RETURNING merge_action"
        ).fetchall()
    finally:
        con.unregister("_pmflow_batch")
    inserted = sum(1 for (action,) in actions if action == "INSERT")
    return inserted, len(actions) - inserted


def _last_row_per_key(data: pa.Table, keys: Sequence[str]) -> pa.Table:
    """The batch with one row per key, the last one; the batch itself when keys are already unique
    (the common case, checked in Arrow, so the merge skips a window over the batch)."""
    if data.group_by(list(keys)).aggregate([]).num_rows == data.num_rows:
        return data
    positions = pa.array(range(data.num_rows), pa.int64())
    last = data.append_column("_pmflow_ord", positions).group_by(list(keys)).aggregate([("_pmflow_ord", "max")])
    return data.take(last.column("_pmflow_ord_max"))


def set_cursor(con, workspace_id: str, source: str, stream: str, partition_key: str, cursor: str) -> None:
    con.execute(
        "DELETE FROM ops.sync_state WHERE workspace_id = ? AND source = ? AND stream = ? AND partition_key = ?",
        [workspace_id, source, stream, partition_key],
    )
    con.execute(
        "INSERT INTO ops.sync_state VALUES (?, ?, ?, ?, ?, now())",
        [workspace_id, source, stream, partition_key, cursor],
    )


def _insert_raw(con, batch: Batch, run_id: str | None) -> None:
    table = f"raw.{batch.source}_{batch.stream}"
    payloads = [canonical_json(payload) for _, payload in batch.raw]
    data = pa.table({
        "record_key": [key for key, _ in batch.raw],
        "payload": payloads,
        "payload_hash": [_md5(p) for p in payloads],
    })
    con.register("_pmflow_raw", data)
    try:
        con.execute(
            f"""INSERT INTO {table}
                SELECT DISTINCT ?, ?, b.record_key, b.payload::JSON, b.payload_hash, ?, now()
                FROM _pmflow_raw b
                WHERE NOT EXISTS (SELECT 1 FROM {table} r WHERE r.workspace_id = ?
                                  AND r.record_key = b.record_key AND r.payload_hash = b.payload_hash)""",
            [batch.workspace_id, batch.partition_key, run_id, batch.workspace_id],
        )
    finally:
        con.unregister("_pmflow_raw")


def _insert_quarantine(con, batch: Batch, run_id: str | None) -> None:
    payloads = [canonical_json(r.payload) for r in batch.rejected]
    data = pa.table({
        "record_key": pa.array([r.record_key for r in batch.rejected], pa.string()),
        "payload": payloads,
        "payload_hash": [_md5(p) for p in payloads],
        "reason": [r.reason for r in batch.rejected],
    })
    con.register("_pmflow_quarantine", data)
    try:
        con.execute(
            """INSERT INTO ops.quarantine
               SELECT DISTINCT ?, ?, ?, b.record_key, b.payload::JSON, b.payload_hash, b.reason, ?, now()
               FROM _pmflow_quarantine b
               WHERE NOT EXISTS (SELECT 1 FROM ops.quarantine q WHERE q.workspace_id = ? AND q.source = ?
                                 AND q.stream = ? AND q.payload_hash = b.payload_hash AND q.reason = b.reason)""",
            [batch.workspace_id, batch.source, batch.stream, run_id,
             batch.workspace_id, batch.source, batch.stream],
        )
    finally:
        con.unregister("_pmflow_quarantine")


def canonical_json(payload: Any) -> str:
    """Stable text for a payload, so an unchanged record hashes the same on every run."""
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _cols(columns: Sequence[str], prefix: str = "") -> str:
    return ", ".join(prefix + _q(c) for c in columns)
