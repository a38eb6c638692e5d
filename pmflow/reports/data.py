"""Runs the report queries (pmflow/reports/sql/*.sql) on a warehouse connection.

Layout of the SQL directory: `views/*.sql` are shared temporary views (tickets with their team and
journey state, pull requests with their team, Slack conversations with their matching decision),
created in file-name order; every other file is one query for one part of a report. Queries take
DuckDB named parameters ($workspace_id, $team, $window_start, ...); only the parameters a query
names are passed to it. Table names are rewritten to the source views of pmflow/reports/sources.py,
so a query runs, with empty results, whatever subset of the warehouse exists.
"""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from pmflow.reports.sources import SOURCES, view_name

SQL_DIR = Path(__file__).parent / "sql"
_TABLE = re.compile(r"'(?:[^']|'')*'|\b(core|marts|ops|raw|staging)\.([a-z_][a-z0-9_]*)\b")
_PARAM = re.compile(r"(?<![$\w])\$([a-z_][a-z0-9_]*)")


class UnknownSource(ValueError):
    pass


@cache
def load_sql(name: str) -> str:
    """The query `name` (a file of SQL_DIR, without .sql), its tables rewritten to source views."""
    return rewrite((SQL_DIR / f"{name}.sql").read_text())


def rewrite(sql: str) -> str:
    def replace(match: re.Match) -> str:
        if match.group(1) is None:  # a string literal
            return match.group(0)
        table = f"{match.group(1)}.{match.group(2)}"
        if table not in SOURCES:
            raise UnknownSource(f"{table} is not declared in pmflow/reports/sources.py")
        return view_name(table)

    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return _TABLE.sub(replace, body)


def query_names() -> list[str]:
    return sorted(p.stem for p in SQL_DIR.glob("*.sql"))


def view_files() -> list[Path]:
    return sorted((SQL_DIR / "views").glob("*.sql"))


def view_stem(path: Path) -> str:
    """views/10_standup_issues.sql -> standup_issues (the number only orders creation)."""
    return re.sub(r"^\d+_", "", path.stem)


class ReportData:
    """Report queries on one connection (read-only is fine: only temporary views are created)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        con.execute("SET TimeZone = 'UTC'")
        self.present = self._create_source_views()
        for path in view_files():
            con.execute(f"CREATE OR REPLACE TEMP VIEW {view_stem(path)} AS\n{rewrite(path.read_text())}")
        self._available: dict[str, dict[str, bool]] = {}

    def _create_source_views(self) -> dict[str, set[str]]:
        """One temp view per source; returns the columns each existing table has."""
        rows = self.con.execute(
            "SELECT table_schema || '.' || table_name, column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database()"
        ).fetchall()
        existing: dict[str, set[str]] = {}
        for table, column in rows:
            existing.setdefault(table, set()).add(column)
        for table, columns in SOURCES.items():
            have = existing.get(table)
            if have is None:
                select = ", ".join(f"CAST(NULL AS {type_}) AS {name}" for name, (type_, _) in columns.items())
                sql = f"SELECT {select} WHERE false"
            else:
                select = ", ".join(
                    f"{name}" if name in have else f"CAST({default} AS {type_}) AS {name}"
                    for name, (type_, default) in columns.items()
                )
                sql = f"SELECT {select} FROM {table}"
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {view_name(table)} AS {sql}")
        return existing

    def rows(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """The rows of query `name` as dicts."""
        sql = load_sql(name)
        wanted = set(_PARAM.findall(sql))
        missing = wanted - set(params)
        if missing:
            raise TypeError(f"query {name} needs parameters {sorted(missing)}")
        cursor = self.con.execute(sql, {k: v for k, v in params.items() if k in wanted})
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]

    def available(self, workspace_id: str) -> dict[str, bool]:
        """Whether each source has rows for the workspace (a missing table has none)."""
        if workspace_id not in self._available:
            self._available[workspace_id] = {
                row["source"]: bool(row["has_rows"]) for row in self.rows("sources", workspace_id=workspace_id)
            }
        return self._available[workspace_id]
