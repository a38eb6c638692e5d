-- Cycle time and lead time of delivered tickets per team and week (weeks start on Monday in the
-- team's timezone; a ticket counts in the week it was last delivered). p50 / p85 / p95 in hours,
-- linear interpolation. Tickets delivered without passing a started stage have no cycle time
-- (tickets_with_cycle_time counts those that have). Key: workspace_id, team_key, week_start.
WITH journeys AS (
    SELECT workspace_id, team_key, delivered_at, cycle_hours, lead_hours
    FROM marts.ticket_journeys
    WHERE delivered_at IS NOT NULL
),
scopes AS (
    SELECT workspace_id, team_key, timezone FROM staging.journey_team_scopes
)
SELECT
    j.workspace_id,
    j.team_key,
    date_trunc('week', timezone(s.timezone, j.delivered_at))::DATE AS week_start,
    any_value(s.timezone) AS timezone,
    count(*) AS tickets_delivered,
    count(j.cycle_hours) AS tickets_with_cycle_time,
    quantile_cont(j.cycle_hours, 0.5) AS cycle_p50_hours,
    quantile_cont(j.cycle_hours, 0.85) AS cycle_p85_hours,
    quantile_cont(j.cycle_hours, 0.95) AS cycle_p95_hours,
    quantile_cont(j.lead_hours, 0.5) AS lead_p50_hours,
    quantile_cont(j.lead_hours, 0.85) AS lead_p85_hours,
    quantile_cont(j.lead_hours, 0.95) AS lead_p95_hours
FROM journeys AS j
JOIN scopes AS s ON s.workspace_id = j.workspace_id AND s.team_key = j.team_key
GROUP BY j.workspace_id, j.team_key, week_start
