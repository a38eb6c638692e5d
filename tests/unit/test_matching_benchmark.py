"""The matching benchmark on a tiny GitBugs directory in the other upstream format: a
``<name>_bugs.csv`` with ISO timestamps and no version column, pair cells listing several ids."""
import csv
import importlib.util
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

BENCHMARK_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "matching.py"
METRICS = {"recall@1", "recall@5", "recall@10", "mrr", "queries_per_s"}
REPORTS = [
    # id, created, summary, description (multi-line, quoted, with commas)
    ("1001", "2020-01-02 17:14:21+00:00", "Crash when opening bookmarks sidebar", "Steps:\n1. open the sidebar\n2. crash, every time"),
    ("1002", "2020-01-05 09:00:00+00:00", "Mail filters ignore the junk folder", "Filters never run on junk."),
    ("1003", "2020-02-10 12:30:00+00:00", "Spell checker underlines every word", "Dictionary seems missing."),
    ("1004", "2020-03-01 08:00:00+00:00", "Bookmarks sidebar crash on open", "Opening the sidebar crashes the browser."),
    ("1005", "2020-03-02 10:00:00+00:00", "Junk folder skipped by message filters", "My filters do not apply to junk mail."),
    ("1006", "2020-04-01 10:00:00+00:00", "Spellcheck marks all words as misspelled", "No dictionary is loaded."),
    ("1007", "2020-05-01 10:00:00+00:00", "Printing cuts off the last page", "Last page missing from print."),
]


@pytest.fixture(scope="module")
def benchmark():
    spec = importlib.util.spec_from_file_location("matching_benchmark", BENCHMARK_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def dataset_dir(tmp_path):
    with (tmp_path / "Tracker_bugs.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Summary", "Issue id", "Status", "Priority", "Resolution", "Created", "Resolved", "Description"])
        for issue_id, created, summary, description in REPORTS:
            writer.writerow([summary, issue_id, "RESOLVED", "--", "DUPLICATE", created, created, description])
    (tmp_path / "Tracker_bugs-combined.csv").write_text(
        'Issue id,Duplicate id\n1001,1004\n1004,1001\n1002,"1005, 9999"\n1006,1003\n'
    )
    (tmp_path / "Tracker_bugs-train.csv").write_text("Issue id,Duplicate id\n1001,1004\n")
    return tmp_path


def test_loader_detects_files_columns_dates_and_id_lists(benchmark, dataset_dir):
    dataset = benchmark.load_dataset(dataset_dir)
    assert list(dataset.reports.columns) == ["title", "body", "created"]
    assert dataset.reports.loc["1001", "created"] == pd.Timestamp("2020-01-02 17:14:21", tz="UTC")
    assert dataset.reports.loc["1001", "body"].startswith("Steps:\n1. open")
    assert dataset.pairs == [("1001", "1004"), ("1002", "1005"), ("1002", "9999"), ("1003", "1006")]
    queries = benchmark.ordered_queries(dataset)
    assert queries.values.tolist() == [["1004", "1001"], ["1005", "1002"], ["1006", "1003"]]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["30/Sep/21 17:20", ""], "2021-09-30 17:20"),
        (["2024-07-25T14:34:59Z", "2024-07-26T00:00:00Z"], "2024-07-25 14:34:59"),
        (["2020-01-02 17:14:21+01:00"], "2020-01-02 16:14:21"),
        (["1700000000"], "2023-11-14 22:13:20"),
    ],
)
def test_parse_dates_in_several_formats(benchmark, values, expected):
    parsed = benchmark.parse_dates(pd.Series(values))
    assert parsed.iloc[0] == pd.Timestamp(expected, tz="UTC")
    assert parsed.iloc[1:].isna().tolist() == [value == "" for value in values[1:]]


def test_evaluation_prints_both_methods(benchmark, dataset_dir, capsys):
    result = benchmark.main([str(dataset_dir)])
    assert json.loads(capsys.readouterr().out) == result
    assert set(result) == {"pmflow", "bm25"}
    assert set(result["pmflow"]) == set(result["bm25"]) == METRICS
    assert result["pmflow"]["recall@1"] == 1.0
    assert 0 < result["bm25"]["mrr"] <= 1


def test_throughput_mode_reports_its_size(benchmark, dataset_dir):
    result = benchmark.main([str(dataset_dir), "--throughput", "--queries", "300", "--tickets", "100"])
    assert result["throughput"]["queries"] == 300
    assert result["throughput"]["tickets"] == 100
    assert result["throughput"]["seconds"] >= 0
