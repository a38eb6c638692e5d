"""`pmflow sql` beyond tests/unit/test_sql_command.py: the rest of DuckDB's statements and file
functions that could write, attach, read other files, reveal the environment or change settings.
Each is refused (by the statement check or inside DuckDB: read-only, external access off, locked
configuration), nothing is written anywhere, and the refusal explains itself without a traceback."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pmflow.sql import QueryRefusedError, run_read_only_query
from warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[2]
SECRET = "xoxb-sql-sandbox-canary-5b1f"


@pytest.fixture
def wh(warehouse_path, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", SECRET)
    wh = Warehouse(warehouse_path)
    wh.run_sql("INSERT INTO core.slack_users (workspace_id, user_id, name) VALUES ('T1', 'U1', 'zoë')")
    return wh


def assert_unchanged(wh: Warehouse, out: Path) -> None:
    assert run_read_only_query("SELECT count(*) FROM core.slack_users", wh)[1] == [(1,)]
    assert not out.exists() or not any(out.iterdir()), sorted(out.iterdir())


@pytest.mark.parametrize("query", [
    "PRAGMA database_list",
    "PRAGMA enable_profiling = 'json'",
    "CALL pragma_table_info('core.slack_users')",
    "EXPORT DATABASE '{out}/export'",
    "CREATE SECRET leak (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "DETACH DATABASE warehouse",
    "USE memory",
    "CHECKPOINT",
    "VACUUM",
    "BEGIN TRANSACTION",
    "PREPARE p AS SELECT 1",
    "SET VARIABLE x = 1",
    "RESET lock_configuration",
    "UPDATE core.slack_users SET name = 'x'",
    "FROM core.slack_users; COPY core.slack_users TO '{out}/users.csv'",
    "EXPLAIN ANALYZE COPY (SELECT * FROM core.slack_users) TO '{out}/users.csv'",
    "EXPLAIN ANALYZE DELETE FROM core.slack_users",
    "SELECT * FROM query('DELETE FROM core.slack_users')",
])
def test_statements_that_write_attach_or_configure_are_refused(wh, tmp_path, query):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(QueryRefusedError):
        run_read_only_query(query.format(out=out), wh)
    assert_unchanged(wh, out)


@pytest.mark.parametrize("query", [
    "SELECT * FROM read_blob('/etc/passwd')",
    "SELECT * FROM read_json_auto('/etc/passwd')",
    "SELECT * FROM read_parquet('/etc/passwd')",
    "SELECT * FROM parquet_metadata('/etc/passwd')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT * FROM read_text('{warehouse}')",
    "SELECT * FROM read_csv('/proc/self/environ')",
    "SELECT * FROM 'https://example.com/data.csv'",
    "SELECT * FROM duckdb_secrets()",
    "SELECT * FROM which_secret('s3://bucket/key', 's3')",
    "SELECT getenv('SLACK_BOT_TOKEN')",
])
def test_functions_that_read_files_the_network_secrets_or_the_environment_are_refused(wh, query):
    with pytest.raises(QueryRefusedError) as refused:
        run_read_only_query(query.format(warehouse=wh.path), wh)
    assert "root:" not in str(refused.value) and SECRET not in str(refused.value)


def test_the_configuration_stays_locked_and_external_access_off(wh):
    _, rows = run_read_only_query(
        "SELECT current_setting('lock_configuration'), current_setting('enable_external_access'), "
        "current_setting('autoload_known_extensions')", wh)
    assert rows == [(True, False, False)]


def test_the_command_line_refuses_with_a_message_and_writes_nothing(wh, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "PMFLOW_WAREHOUSE": str(wh.path)}
    for query in (f"COPY core.slack_users TO '{out}/leak.csv'", f"EXPLAIN ANALYZE COPY (SELECT 1) TO '{out}/x.csv'",
                  "SELECT * FROM read_csv('/etc/passwd')"):
        done = subprocess.run([sys.executable, "-m", "pmflow.cli", "sql", query], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode != 0
        assert "pmflow:" in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert "root:" not in done.stdout + done.stderr
    assert_unchanged(wh, out)
