import io
import json

import pytest

from pmflow.sql import QueryRefusedError, run_read_only_query, write_result
from warehouse import Warehouse, WarehouseMissingError


@pytest.fixture
def wh(warehouse_path):
    wh = Warehouse(warehouse_path)
    wh.run_sql("INSERT INTO core.slack_users (workspace_id, user_id, name) VALUES ('T1', 'U1', 'zoë'), ('T1', 'U2', 'ana')")
    return wh


def test_select_returns_columns_and_rows(wh):
    columns, rows = run_read_only_query("SELECT user_id, name FROM core.slack_users ORDER BY user_id", wh)
    assert columns == ["user_id", "name"]
    assert rows == [("U1", "zoë"), ("U2", "ana")]


@pytest.mark.parametrize("query", [
    "INSERT INTO core.slack_users (workspace_id, user_id) VALUES ('T1', 'U3')",
    "DELETE FROM core.slack_users",
    "DROP TABLE core.slack_users",
    "CREATE TABLE x AS SELECT 1",
    "COPY core.slack_users TO '/tmp/pmflow-leak.csv'",
    "ATTACH '/tmp/other.duckdb' AS other",
    "SET enable_external_access = true",
    "INSTALL fts",
    "LOAD json",
    "SELECT 1; DELETE FROM core.slack_users",
])
def test_statements_that_are_not_queries_are_refused(wh, query):
    with pytest.raises(QueryRefusedError):
        run_read_only_query(query, wh)
    assert run_read_only_query("SELECT count(*) FROM core.slack_users", wh)[1] == [(2,)]


@pytest.mark.parametrize("query", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT current_setting('enable_external_access'), * FROM glob('/etc/*')",
])
def test_queries_cannot_read_other_files(wh, query):
    with pytest.raises(QueryRefusedError) as refused:
        run_read_only_query(query, wh)
    assert "root:" not in str(refused.value)


def test_missing_warehouse_is_explained(tmp_path):
    with pytest.raises(WarehouseMissingError, match="pmflow demo"):
        run_read_only_query("SELECT 1", Warehouse(tmp_path / "none.duckdb"))


def test_csv_starts_with_a_header_and_json_is_a_list_of_objects():
    out = io.StringIO()
    write_result(["a", "b"], [(1, "x,y")], "csv", out)
    assert out.getvalue().splitlines() == ["a,b", '1,"x,y"']
    out = io.StringIO()
    write_result(["a", "b"], [(1, None)], "json", out)
    assert json.loads(out.getvalue()) == [{"a": 1, "b": None}]
