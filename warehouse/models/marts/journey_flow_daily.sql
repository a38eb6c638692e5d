-- Cumulative flow: tickets in each stage at the end of each day (the team's timezone) over the last
-- flow_days days up to as_of (the last day is counted at as_of). A visit that starts and ends on the
-- same day does not count. Key: workspace_id, team_key, day, stage.
WITH intervals AS NOT MATERIALIZED (
    SELECT workspace_id, team_key, stage, entered_at, exited_at FROM marts.ticket_stage_intervals
),
stages AS (
    SELECT workspace_id, team_key, timezone, stage, stage_order FROM staging.journey_stages
),
params AS (
    -- Moves before `cutoff` happened before the first day of the window in every timezone.
    SELECT as_of, flow_days, as_of - to_days(flow_days + 1) AS cutoff FROM staging.journey_params
),
moves AS NOT MATERIALIZED (
    SELECT workspace_id, team_key, stage, entered_at AS moved_at, 1 AS delta FROM intervals
    UNION ALL
    SELECT workspace_id, team_key, stage, exited_at, -1 FROM intervals WHERE exited_at IS NOT NULL
),
baseline AS (
    SELECT workspace_id, team_key, stage, sum(delta) AS tickets
    FROM moves
    WHERE moved_at < (SELECT cutoff FROM params)
    GROUP BY ALL
),
recent AS (
    SELECT m.workspace_id, m.team_key, m.stage, timezone(s.timezone, m.moved_at)::DATE AS day, sum(m.delta) AS delta
    FROM moves AS m
    JOIN stages AS s ON s.workspace_id = m.workspace_id AND s.team_key = m.team_key AND s.stage = m.stage
    WHERE m.moved_at >= (SELECT cutoff FROM params)
    GROUP BY ALL
),
running AS (
    SELECT workspace_id, team_key, stage, day,
           sum(delta) OVER (PARTITION BY workspace_id, team_key, stage ORDER BY day) AS delta_to_date
    FROM recent
),
days AS (
    SELECT s.workspace_id, s.team_key, s.stage, s.stage_order,
           unnest(generate_series(
               timezone(s.timezone, p.as_of)::DATE - (p.flow_days - 1),
               timezone(s.timezone, p.as_of)::DATE,
               INTERVAL 1 DAY))::DATE AS day
    FROM stages AS s, params AS p
)
SELECT
    d.workspace_id, d.team_key, d.day, d.stage, d.stage_order,
    coalesce(b.tickets, 0) + coalesce(r.delta_to_date, 0) AS tickets
FROM days AS d
LEFT JOIN baseline AS b ON b.workspace_id = d.workspace_id AND b.team_key = d.team_key AND b.stage = d.stage
ASOF LEFT JOIN running AS r
    ON r.workspace_id = d.workspace_id AND r.team_key = d.team_key AND r.stage = d.stage AND d.day >= r.day
