"""`pmflow sql`: read-only queries on the warehouse, printed as a table, CSV or JSON.

Three locks keep user SQL from doing harm: only query statements are accepted; the connection is
read-only; and it runs with external access off and a locked configuration, so COPY, ATTACH,
read_csv('/etc/passwd'), INSTALL/LOAD and SET all fail inside DuckDB itself.
"""
from __future__ import annotations

import csv
import json
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

import duckdb

from warehouse import Warehouse, WarehouseError

ALLOWED_STATEMENTS = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


class QueryRefusedError(WarehouseError):
    pass


def run_read_only_query(query: str, wh: Warehouse | None = None) -> tuple[list[str], list[tuple]]:
    _refuse_non_queries(query)
    with (wh or Warehouse()).read() as con:
        try:
            cursor = con.execute(query)
        except duckdb.Error as exc:
            raise QueryRefusedError(_explain(exc)) from None
        columns = [d[0] for d in cursor.description or []]
        return columns, cursor.fetchall()


def _refuse_non_queries(query: str) -> None:
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise QueryRefusedError(f"could not parse the query: {exc}") from None
    if not statements:
        raise QueryRefusedError("the query is empty")
    for statement in statements:
        if statement.type not in ALLOWED_STATEMENTS:
            raise QueryRefusedError(
                f"pmflow sql is read-only: {statement.type.name} statements are refused. "
                "Use SELECT (or DESCRIBE / SHOW / SUMMARIZE / EXPLAIN)."
            )
    if len(statements) > 1:
        raise QueryRefusedError("one statement at a time, please")


def _explain(exc: duckdb.Error) -> str:
    message = str(exc).splitlines()[0]
    if isinstance(exc, duckdb.PermissionException):
        return f"refused: pmflow sql cannot read or write files, attach databases or change settings ({message})"
    return message


def write_result(columns: list[str], rows: list[tuple], output_format: str, out: IO[str]) -> None:
    if output_format == "csv":
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows(rows)
    elif output_format == "json":
        json.dump([dict(zip(columns, row)) for row in rows], out, default=_json_value, ensure_ascii=False, indent=1)
        out.write("\n")
    else:
        _write_table(columns, rows, out)


def _write_table(columns: list[str], rows: list[tuple], out: IO[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns, show_lines=False, header_style="bold")
    for row in rows:
        table.add_row(*("NULL" if v is None else str(v) for v in row))
    Console(file=out, width=max(120, len(columns) * 18)).print(table)
    out.write(f"({len(rows)} row{'s' if len(rows) != 1 else ''})\n")


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)
