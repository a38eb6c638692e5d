"""Journey analytics: each ticket's path through the stages, and where work gets stuck.

    stages.yaml / stages.py   the stage model (default + PMFLOW_JOURNEY_STAGES overrides per workspace
                              and team), written to ops.journey_scopes / _stages / _stage_rules
    build.py                  writes the model and the "as of" time, rebuilds the journey marts
    agent_events.py           OpenTelemetry GenAI JSONL -> core.agent_events (PMFLOW_AGENT_TRACES)
    report.py, charts.py      artifact rows, PNG charts and the markdown page linking them
    ground_truth.py           a plain-Python reference of stage visits, compared with the marts
    settings.py               PMFLOW_JOURNEY_* (as_of, stages, charts_dir, funnel_window_days,
                              flow_days, at_risk_min_visits)

The SQL is in warehouse/models (staging/journey_*.sql, staging/pr_first_reviews.sql and the marts
ticket_stage_intervals, ticket_stage_summary, journey_stage_stats, ticket_journeys, journey_funnel,
cycle_time_weekly, journey_flow_daily, pr_cycle_time, agent_activity); each file's leading comment
says what a row is and how every figure is computed. No Prefect in this package.
"""
