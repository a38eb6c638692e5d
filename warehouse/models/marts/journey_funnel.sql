-- Stage-to-stage conversion over the window (as_of - funnel_window_days, as_of], per team and for all
-- teams of a workspace (team_key NULL). entered: tickets that entered the stage in the window (first
-- entry counts); converted: of those, tickets that later entered any later, non-closed stage
-- (skipping stages counts); closed_without_converting: reached the closed stage first; still_open:
-- neither yet. median_hours_to_convert: from that entry to the first later-stage entry. The last
-- open stage (Delivery by default) has entered only; the closed stage has no row.
-- Key: workspace_id, team_key, stage.
WITH intervals AS NOT MATERIALIZED (
    SELECT workspace_id, ticket_id, team_key, stage, stage_order, entered_at, is_closed
    FROM marts.ticket_stage_intervals
),
stages AS (
    SELECT workspace_id, team_key, stage, stage_order, is_closed FROM staging.journey_stages
),
params AS (
    SELECT as_of, as_of - to_days(funnel_window_days) AS window_start FROM staging.journey_params
),
funnel_stages AS (
    SELECT workspace_id, team_key, stage, stage_order,
           lead(stage) OVER (PARTITION BY workspace_id, team_key ORDER BY stage_order) AS next_stage
    FROM stages
    WHERE NOT is_closed
),
entries AS (
    SELECT i.workspace_id, i.ticket_id, i.team_key, i.stage, i.stage_order, min(i.entered_at) AS entered_at
    FROM intervals AS i, params AS p
    WHERE NOT i.is_closed AND i.entered_at > p.window_start AND i.entered_at <= p.as_of
    GROUP BY ALL
),
outcomes AS (
    SELECT
        e.workspace_id, e.ticket_id, e.team_key, e.stage, e.entered_at,
        min(v.entered_at) FILTER (WHERE v.stage_order > e.stage_order AND NOT v.is_closed) AS converted_at,
        min(v.entered_at) FILTER (WHERE v.is_closed) AS closed_at
    FROM entries AS e
    LEFT JOIN intervals AS v
        ON v.workspace_id = e.workspace_id AND v.ticket_id = e.ticket_id AND v.entered_at > e.entered_at
    GROUP BY e.workspace_id, e.ticket_id, e.team_key, e.stage, e.entered_at
),
counts AS (
    SELECT
        workspace_id, team_key, stage, GROUPING(team_key) = 1 AS all_teams,
        count(*) AS entered,
        count(converted_at) AS converted,
        count(*) FILTER (WHERE converted_at IS NULL AND closed_at IS NOT NULL) AS closed_without_converting,
        median((epoch(converted_at) - epoch(entered_at)) / 3600.0) AS median_hours_to_convert
    FROM outcomes
    GROUP BY GROUPING SETS ((workspace_id, team_key, stage), (workspace_id, stage))
),
keys AS (
    SELECT workspace_id, team_key, stage, stage_order, next_stage, false AS all_teams FROM funnel_stages
    UNION ALL
    SELECT workspace_id, NULL, stage, min(stage_order), any_value(next_stage), true
    FROM funnel_stages
    GROUP BY workspace_id, stage
)
SELECT
    k.workspace_id,
    k.team_key,
    k.stage,
    k.stage_order,
    k.next_stage,
    p.window_start,
    p.as_of AS window_end,
    coalesce(c.entered, 0) AS entered,
    CASE WHEN k.next_stage IS NOT NULL THEN coalesce(c.converted, 0) END AS converted,
    CASE WHEN k.next_stage IS NOT NULL THEN coalesce(c.closed_without_converting, 0) END AS closed_without_converting,
    CASE WHEN k.next_stage IS NOT NULL THEN coalesce(c.entered - c.converted - c.closed_without_converting, 0) END AS still_open,
    CASE WHEN k.next_stage IS NOT NULL THEN c.converted / nullif(c.entered, 0) END AS conversion_rate,
    c.median_hours_to_convert
FROM keys AS k
CROSS JOIN params AS p
LEFT JOIN counts AS c
    ON c.workspace_id = k.workspace_id AND c.stage = k.stage AND c.all_teams = k.all_teams
    AND (k.all_teams OR c.team_key = k.team_key)
