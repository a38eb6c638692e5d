-- Every Linear workflow state (name, type) seen in a workspace, mapped for each of its teams to a
-- journey stage by the first matching rule of the team's scope; stage is NULL when no rule matches.
-- The pseudo-state (NULL, 'archived') stands for a ticket's archived_at. Keys are '' rather than NULL.
-- stage_order / lifted_order: positions of the stage and of its open-PR lift in the team's stages.
WITH history AS (
    SELECT DISTINCT workspace_id, to_state AS state_name, to_state_type AS state_type
    FROM core.linear_issue_history
    UNION
    SELECT DISTINCT workspace_id, from_state, from_state_type
    FROM core.linear_issue_history
    WHERE from_state IS NOT NULL OR from_state_type IS NOT NULL
),
issues AS (
    SELECT DISTINCT workspace_id, state_name, state_type
    FROM core.linear_issues
),
scopes AS (
    SELECT workspace_id, team_key, scope_workspace, scope_team
    FROM staging.journey_team_scopes
),
rules AS (
    SELECT scope_workspace, scope_team, rule_order, state_type, name_regex, stage
    FROM ops.journey_stage_rules
),
stages AS (
    SELECT workspace_id, team_key, stage, stage_order, lifted_to
    FROM staging.journey_stages
),
states AS (
    SELECT workspace_id, coalesce(state_name, '') AS state_name, coalesce(lower(state_type), '') AS state_type
    FROM history
    UNION
    SELECT workspace_id, coalesce(state_name, ''), coalesce(lower(state_type), '')
    FROM issues
    UNION
    SELECT DISTINCT workspace_id, '', 'archived'
    FROM issues
),
matched AS (
    SELECT s.workspace_id, sc.team_key, s.state_name, s.state_type, r.stage
    FROM states AS s
    JOIN scopes AS sc ON sc.workspace_id = s.workspace_id
    LEFT JOIN rules AS r
        ON r.scope_workspace = sc.scope_workspace AND r.scope_team = sc.scope_team
        AND (r.state_type IS NULL OR r.state_type = s.state_type)
        AND (r.name_regex IS NULL OR regexp_full_match(s.state_name, r.name_regex, 'i'))
    QUALIFY row_number() OVER (
        PARTITION BY s.workspace_id, sc.team_key, s.state_name, s.state_type ORDER BY r.rule_order NULLS LAST
    ) = 1
)
SELECT m.workspace_id, m.team_key, m.state_name, m.state_type, m.stage, st.stage_order, st.lifted_to,
       lift.stage_order AS lifted_order
FROM matched AS m
LEFT JOIN stages AS st ON st.workspace_id = m.workspace_id AND st.team_key = m.team_key AND st.stage = m.stage
LEFT JOIN stages AS lift
    ON lift.workspace_id = m.workspace_id AND lift.team_key = m.team_key AND lift.stage = st.lifted_to
