-- The ordered journey stages of each (workspace, team), from its scope of the stage model.
-- cycle_start_order is the order of the team's starts_cycle stage.
WITH scopes AS (
    SELECT workspace_id, team_key, scope_workspace, scope_team, timezone
    FROM staging.journey_team_scopes
),
stages AS (
    SELECT scope_workspace, scope_team, stage, stage_order, starts_cycle, is_done, is_closed, lifted_to
    FROM ops.journey_stages
)
SELECT
    sc.workspace_id,
    sc.team_key,
    sc.timezone,
    st.stage,
    st.stage_order,
    st.starts_cycle,
    st.is_done,
    st.is_closed,
    st.lifted_to,
    max(st.stage_order) FILTER (WHERE st.starts_cycle) OVER (PARTITION BY sc.workspace_id, sc.team_key) AS cycle_start_order
FROM scopes AS sc
JOIN stages AS st ON st.scope_workspace = sc.scope_workspace AND st.scope_team = sc.scope_team
