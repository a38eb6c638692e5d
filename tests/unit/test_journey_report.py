"""What people see: funnel and stuck-work rows, PNG charts, the markdown page linking them."""
from __future__ import annotations

from pmflow.journeys import report
from tests.unit.test_journey_marts import A1, A2, A3, A4, A5, A6, AS_OF, build, load
from warehouse import Warehouse

PNG = b"\x89PNG\r\n\x1a\n"


def test_funnel_stuck_work_charts_and_markdown(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    load(wh, [A1, A2, A3, A4, A5, A6])
    build(wh, AS_OF)
    with wh.connect() as con:
        funnel = report.funnel_rows(con)
        stuck = report.stuck_work_rows(con)
        charts = report.render_charts(con, tmp_path / "charts")
    assert [r["stage"] for r in funnel] == ["Discovery", "Planning", "Execution", "Validation", "Delivery"]
    assert funnel[2]["entered"] == 5 and funnel[2]["conversion_rate"] == 0.6
    # Only A5 is at risk: 90 h in Execution against a p80 of 16 h (test_journey_marts works it out).
    assert [(r["identifier"], r["current_stage"], r["days_in_stage"]) for r in stuck] == [("ENG-A5", "Execution", 3.8)]
    assert [c.path.name for c in charts] == ["journey-funnel-ws1.png", "journey-cfd-ws1.png", "journey-cycle-time-ws1.png"]
    for chart in charts:
        assert chart.path.read_bytes()[:8] == PNG and chart.path.stat().st_size > 5_000
    markdown = report.charts_markdown(charts, {"tickets": 6, "at_risk": 1})
    assert "- tickets: 6" in markdown and f"]({charts[0].path.resolve().as_uri()})" in markdown


def test_charts_of_an_empty_warehouse(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    build(wh, AS_OF)
    with wh.connect() as con:
        assert report.funnel_rows(con) == [] and report.stuck_work_rows(con) == []
        assert report.render_charts(con, tmp_path / "charts") == []
    assert "No tickets" in report.charts_markdown([], {"tickets": 0})
