-- Which sources hold rows for the workspace: a section whose sources are empty (or not built yet)
-- says so ("no cost data yet") instead of pretending nothing happened.
SELECT 'core.linear_issues' AS source, count(*) > 0 AS has_rows FROM core.linear_issues WHERE workspace_id = $workspace_id
UNION ALL SELECT 'core.github_pull_requests', count(*) > 0 FROM core.github_pull_requests WHERE workspace_id = $workspace_id
UNION ALL SELECT 'core.slack_messages', count(*) > 0 FROM core.slack_messages WHERE workspace_id = $workspace_id
UNION ALL SELECT 'core.agent_events', count(*) > 0 FROM core.agent_events WHERE workspace_id = $workspace_id
UNION ALL SELECT 'core.linear_issue_relations', count(*) > 0 FROM core.linear_issue_relations WHERE workspace_id = $workspace_id
UNION ALL SELECT 'marts.ticket_links', count(*) > 0 FROM marts.ticket_links WHERE workspace_id = $workspace_id
UNION ALL SELECT 'marts.ticket_journeys', count(*) > 0 FROM marts.ticket_journeys WHERE workspace_id = $workspace_id
UNION ALL SELECT 'marts.ticket_stage_intervals', count(*) > 0 FROM marts.ticket_stage_intervals WHERE workspace_id = $workspace_id
UNION ALL SELECT 'marts.cycle_time_weekly', count(*) > 0 FROM marts.cycle_time_weekly WHERE workspace_id = $workspace_id
UNION ALL SELECT 'marts.cost_daily', count(*) > 0 FROM marts.cost_daily WHERE workspace_id = $workspace_id
UNION ALL SELECT 'marts.budget_status', count(*) > 0 FROM marts.budget_status WHERE workspace_id = $workspace_id
