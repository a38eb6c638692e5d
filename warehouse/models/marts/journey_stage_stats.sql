-- How long visits to each stage take, per team: p50 / p80 / p95 hours (linear interpolation) over
-- the finished visits (exited before as_of) of that team's tickets. at_risk in ticket_journeys
-- compares a ticket's current visit with p80_hours. Key: workspace_id, team_key, stage.
WITH intervals AS (
    SELECT workspace_id, team_key, stage, stage_order, hours_in_stage, exited_at
    FROM marts.ticket_stage_intervals
)
SELECT
    workspace_id,
    team_key,
    stage,
    any_value(stage_order) AS stage_order,
    count(*) AS finished_visits,
    quantile_cont(hours_in_stage, 0.5) AS p50_hours,
    quantile_cont(hours_in_stage, 0.8) AS p80_hours,
    quantile_cont(hours_in_stage, 0.95) AS p95_hours
FROM intervals
WHERE exited_at IS NOT NULL
GROUP BY workspace_id, team_key, stage
