"""Runs the data-quality suites (warehouse/quality/suites.py) with great-expectations.

The columns the checks read, of each table (one workspace, or all), are read into a pandas frame
and validated by an in-memory GX context: a SQL datasource over duckdb-engine returns wrong results,
and a frame lets a reference check see the other table's keys. Offending rows are then read whole. great-expectations is imported on the first validation, never at
import time (it takes seconds).

A failed check is a warning, not an error: the offending rows stay in core, a copy of each (up to
PMFLOW_QUALITY_MAX_ROWS_QUARANTINED per check) goes to ops.quarantine with source 'quality', the
table as stream and the check as reason, and every check's outcome is kept in ops.quality_results.
Re-validating rows already quarantined for the same reason adds no copy.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd

from warehouse.quality.suites import CHECKS, Reference, TableChecks
from warehouse.tables import NATURAL_KEYS

logger = logging.getLogger(__name__)

EARLIEST_SANE = datetime(2000, 1, 1, tzinfo=timezone.utc)
QUARANTINE_SOURCE = "quality"
_SEP = "\x1f"
_ROWID = "_pmflow_rowid"


@dataclass
class CheckResult:
    table: str
    check_name: str
    expectation: str
    columns: tuple[str, ...]
    description: str
    success: bool
    element_count: int
    unexpected_count: int | None = None
    quarantined: int = 0
    details: str = ""


@dataclass
class TableReport:
    table: str
    workspace_id: str | None
    rows: int
    checks: list[CheckResult] = field(default_factory=list)
    skipped: str | None = None
    """Why the table was not validated (missing, empty), else None."""

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success]

    @property
    def quarantined(self) -> int:
        return sum(c.quarantined for c in self.checks)


# -- the checks of one table -------------------------------------------------------------------


@dataclass(frozen=True)
class _Check:
    name: str
    columns: tuple[str, ...]
    description: str
    build: Callable[[Any], Any]
    """gx.expectations module -> an Expectation."""


def _checks_for(table: str, frame: pd.DataFrame, spec: TableChecks, now: datetime, skew: timedelta,
                references: dict[str, list[str] | None]) -> list[_Check]:
    present = set(frame.columns)
    checks: list[_Check] = []
    key = NATURAL_KEYS.get(table, ())
    for column in key:
        checks.append(_Check(f"not_null:{column}", (column,), f"key column {column} is NULL",
                             lambda gxe, c=column: gxe.ExpectColumnValuesToNotBeNull(column=c)))
    if len(key) == 1:
        checks.append(_Check("key_unique", key, f"two rows share the key ({key[0]})",
                             lambda gxe: gxe.ExpectColumnValuesToBeUnique(column=key[0])))
    elif key:
        checks.append(_Check("key_unique", key, f"two rows share the key ({', '.join(key)})",
                             lambda gxe: gxe.ExpectCompoundColumnsToBeUnique(column_list=list(key))))
    latest = now + skew
    for column in spec.timestamps:
        if column in present:
            checks.append(_Check(
                f"timestamp_sane:{column}", (column,),
                f"{column} is before 2000-01-01 or more than {skew.total_seconds() / 60:g} min in the future",
                lambda gxe, c=column: gxe.ExpectColumnValuesToBeBetween(
                    column=c, min_value=EARLIEST_SANE, max_value=latest),
            ))
    for earlier, later in spec.ordered:
        if {earlier, later} <= present:
            checks.append(_Check(
                f"ordered:{earlier}<={later}", (earlier, later), f"{later} is before {earlier}",
                lambda gxe, a=later, b=earlier: gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=a, column_B=b, or_equal=True, ignore_row_if="either_value_is_missing"),
            ))
    for column, values in spec.known_values.items():
        if column in present:
            checks.append(_Check(
                f"known_values:{column}", (column,), f"{column} is not one of {', '.join(map(str, values))}",
                lambda gxe, c=column, v=values: gxe.ExpectColumnValuesToBeInSet(column=c, value_set=list(v)),
            ))
    for column in spec.non_negative:
        if column in present:
            checks.append(_Check(f"non_negative:{column}", (column,), f"{column} is negative",
                                 lambda gxe, c=column: gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0)))
    for ref in spec.references:
        keys = references.get(ref.name)
        if keys is None:
            continue
        checks.append(_Check(
            f"reference:{ref.name}", ref.columns,
            f"{', '.join(ref.columns)} matches no row of {ref.table} ({', '.join(ref.ref_columns)})",
            lambda gxe, c=_ref_column(ref), k=keys: gxe.ExpectColumnValuesToBeInSet(column=c, value_set=k),
        ))
    return checks


def _ref_column(ref: Reference) -> str:
    return f"_ref_{ref.name.replace(',', '_')}"


def _composite(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """One string per row joining `columns`; NULL when any of them is NULL."""
    parts = [frame[c] for c in columns]
    missing = pd.concat([p.isna() for p in parts], axis=1).any(axis=1)
    joined = parts[0].astype(str)
    for part in parts[1:]:
        joined = joined + _SEP + part.astype(str)
    return joined.where(~missing, None).astype(object)


# -- great-expectations ------------------------------------------------------------------------


class _GX:
    """One in-memory GX context per process, created on first use (importing GX takes seconds)."""

    _lock = threading.Lock()
    _instance: _GX | None = None

    def __init__(self) -> None:
        import great_expectations as gx
        import great_expectations.expectations as gxe
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        self.gx, self.expectations = gx, gxe
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            progress_bars=ProgressBarsConfig(globally=False),
            analytics_enabled=False,
        )
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self.datasource = self.context.data_sources.add_pandas("pmflow")

    @classmethod
    def get(cls) -> _GX:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def validate(self, table: str, frame: pd.DataFrame, checks: list[_Check]) -> list[tuple[_Check, Any]]:
        asset_name = f"{table}:{uuid.uuid4().hex[:8]}"
        asset = self.datasource.add_dataframe_asset(asset_name)
        try:
            batch = asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": frame})
            suite = self.gx.ExpectationSuite(name=asset_name)
            for check in checks:
                expectation = check.build(self.expectations)
                expectation.meta = {"pmflow_check": check.name}
                suite.add_expectation(expectation)
            result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
        finally:
            self.datasource.delete_asset(asset_name)
        by_name = {(r.expectation_config.meta or {}).get("pmflow_check"): r for r in result.results}
        return [(check, by_name[check.name]) for check in checks]


# -- validation --------------------------------------------------------------------------------


def validate_tables(wh, tables: Sequence[str], *, workspace_id: str | None = None, run_id: str | None = None,
                    max_skew: timedelta = timedelta(hours=1), max_quarantined: int = 1000,
                    now: datetime | None = None) -> list[TableReport]:
    return [
        validate_table(wh, table, workspace_id=workspace_id, run_id=run_id, max_skew=max_skew,
                       max_quarantined=max_quarantined, now=now)
        for table in tables
    ]


def validate_table(wh, table: str, *, workspace_id: str | None = None, run_id: str | None = None,
                   max_skew: timedelta = timedelta(hours=1), max_quarantined: int = 1000,
                   now: datetime | None = None) -> TableReport:
    """Validates one table (one workspace, or all), quarantines offending rows, records results."""
    now = now or datetime.now(timezone.utc)
    if not _table_exists(wh, table):
        return TableReport(table, workspace_id, 0, skipped="table does not exist")
    spec = CHECKS.get(table, TableChecks())
    columns = ", ".join(f'"{c}"' for c in _columns_checked(wh, table, spec))
    where, params = ("WHERE workspace_id = ?", [workspace_id]) if workspace_id else ("", [])
    frame = wh.frame(f"SELECT rowid AS {_ROWID}, {columns} FROM {table} {where}", params)
    if frame.empty:
        return TableReport(table, workspace_id, 0, skipped="no rows")
    frame = frame.reset_index(drop=True)
    references = _reference_keys(wh, frame, spec, workspace_id)
    checks = _checks_for(table, frame, spec, now, max_skew, references)
    outcomes = _GX.get().validate(table, frame, checks)

    report = TableReport(table, workspace_id, len(frame))
    quarantine: list[dict] = []
    for check, outcome in outcomes:
        result = _check_result(table, check, outcome, len(frame))
        if not result.success and result.unexpected_count:
            rows = _offending_rows(wh, table, frame, outcome, max_quarantined)
            quarantine.append({"result": result, "rows": rows, "reason": f"quality {check.name}: {check.description}"})
        report.checks.append(result)
    _store(wh, report, quarantine, run_id, now)
    return report


def _columns_checked(wh, table: str, spec: TableChecks) -> list[str]:
    """The columns the checks read (not the whole row: message texts and descriptions stay in the
    warehouse; offending rows are read whole afterwards, by rowid)."""
    schema, name = table.split(".", 1)
    present = [r[0] for r in wh.query(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position", [schema, name])]
    wanted = {"workspace_id", *NATURAL_KEYS.get(table, ()), *spec.timestamps, *spec.known_values, *spec.non_negative}
    wanted |= {c for pair in spec.ordered for c in pair} | {c for ref in spec.references for c in ref.columns}
    return [c for c in present if c in wanted]


def _table_exists(wh, table: str) -> bool:
    schema, name = table.split(".", 1)
    return bool(wh.query(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, name]
    )[0][0])


def _reference_keys(wh, frame: pd.DataFrame, spec: TableChecks, workspace_id: str | None) -> dict[str, list[str] | None]:
    """For each reference: the referenced keys (as composite strings), after adding the matching
    composite column to `frame`; None when the check cannot run (referenced table missing or
    empty for the workspace)."""
    keys: dict[str, list[str] | None] = {}
    for ref in spec.references:
        if not set(ref.columns) <= set(frame.columns) or not _table_exists(wh, ref.table):
            keys[ref.name] = None
            continue
        columns = ref.columns if workspace_id else ("workspace_id", *ref.columns)
        ref_columns = ref.ref_columns if workspace_id else ("workspace_id", *ref.ref_columns)
        select = ", ".join(f"CAST({c} AS VARCHAR)" for c in ref_columns)
        where, params = ("WHERE workspace_id = ?", [workspace_id]) if workspace_id else ("", [])
        rows = wh.query(f"SELECT DISTINCT {select} FROM {ref.table} {where}", params)
        if not rows:
            keys[ref.name] = None
            continue
        frame[_ref_column(ref)] = _composite(frame, columns)
        keys[ref.name] = sorted({_SEP.join(row) for row in rows if all(v is not None for v in row)})
    return keys


def _check_result(table: str, check: _Check, outcome: Any, rows: int) -> CheckResult:
    error = _error_of(outcome)
    result = outcome.result or {}
    unexpected = result.get("unexpected_count")
    if unexpected is None and "unexpected_index_list" in result:
        unexpected = len(result["unexpected_index_list"])
    sample = result.get("partial_unexpected_list") or []
    details = f"error: {error}" if error else (_sample_text(sample) if not outcome.success else "")
    return CheckResult(
        table=table,
        check_name=check.name,
        expectation=outcome.expectation_config.type,
        columns=check.columns,
        description=check.description,
        success=bool(outcome.success),
        element_count=rows,
        unexpected_count=unexpected if unexpected is not None else (None if error else 0),
        details=details,
    )


def _error_of(outcome: Any) -> str | None:
    """The exception a check raised, if any (GX keeps it in exception_info, either flat or per metric)."""
    info = outcome.exception_info or {}
    candidates = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for item in candidates:
        if item.get("raised_exception"):
            return str(item.get("exception_message") or "the check raised an exception")[:500]
    return None


def _sample_text(sample: list) -> str:
    text = json.dumps(sample[:5], default=str, ensure_ascii=False).replace(_SEP, "/").replace("\\u001f", "/")
    return f"e.g. {text[:300]}"


def _offending_rows(wh, table: str, frame: pd.DataFrame, outcome: Any, limit: int) -> list[dict]:
    """The whole stored rows (every column) that failed a check, at most `limit`."""
    indices = (outcome.result or {}).get("unexpected_index_list") or []
    positions = []
    for item in indices[:limit]:
        index = item.get("pandas_index", item) if isinstance(item, dict) else item
        positions.append(index)
    if not positions:
        return []
    rowids = sorted({int(r) for r in frame.loc[positions, _ROWID]})
    rows = wh.frame(f"SELECT * FROM {table} WHERE rowid IN (SELECT unnest(?::BIGINT[])) ORDER BY rowid", [rowids])
    return json.loads(rows.to_json(orient="records", date_format="iso", default_handler=str))


# -- storing -----------------------------------------------------------------------------------


def _store(wh, report: TableReport, quarantine: list[dict], run_id: str | None, now: datetime) -> None:
    """Quarantine copies and check results, in one transaction."""
    validation_id = uuid.uuid4().hex
    key = [c for c in NATURAL_KEYS.get(report.table, ()) if c != "workspace_id"]
    with wh.connect() as con:
        con.execute("BEGIN TRANSACTION")
        try:
            for item in quarantine:
                item["result"].quarantined = _quarantine(con, report, item["rows"], item["reason"], key, run_id, now)
            con.executemany(
                "INSERT INTO ops.quality_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[validation_id, run_id, report.workspace_id, report.table, c.check_name, c.expectation,
                  ",".join(c.columns), c.success, c.element_count, c.unexpected_count, c.quarantined,
                  c.details, now] for c in report.checks],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def _quarantine(con, report: TableReport, rows: list[dict], reason: str, key: list[str],
                run_id: str | None, now: datetime) -> int:
    if not rows:
        return 0
    records = []
    for row in rows:
        payload = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
        records.append({
            "workspace_id": str(row.get("workspace_id") or report.workspace_id or ""),
            "record_key": "/".join("" if row.get(c) is None else str(row.get(c)) for c in key) or None,
            "payload": payload,
            "payload_hash": hashlib.md5(payload.encode("utf-8")).hexdigest(),
        })
    frame = pd.DataFrame.from_records(records).drop_duplicates(["workspace_id", "payload_hash"])
    con.register("_pmflow_quality_quarantine", frame)
    try:
        inserted = con.execute(
            """INSERT INTO ops.quarantine
               SELECT b.workspace_id, ?, ?, b.record_key, b.payload::JSON, b.payload_hash, ?, ?, ?
               FROM _pmflow_quality_quarantine b
               WHERE NOT EXISTS (SELECT 1 FROM ops.quarantine q WHERE q.workspace_id = b.workspace_id
                                 AND q.source = ? AND q.stream = ? AND q.payload_hash = b.payload_hash
                                 AND q.reason = ?)
               RETURNING 1""",
            [QUARANTINE_SOURCE, report.table, reason, run_id, now, QUARANTINE_SOURCE, report.table, reason],
        ).fetchall()
    finally:
        con.unregister("_pmflow_quality_quarantine")
    return len(inserted)
