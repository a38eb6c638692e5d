-- Each (workspace, team) with tickets: the most specific journey scope of ops.journey_scopes that
-- applies to it, and its timezone (team config, else the team's valid Linear timezone, else the
-- config default). team_key is '' for tickets without a team.
WITH issues AS (
    SELECT workspace_id, coalesce(team_key, '') AS team_key, any_value(team_id) AS team_id
    FROM core.linear_issues
    GROUP BY ALL
),
teams AS (
    SELECT workspace_id, team_id, timezone
    FROM core.linear_teams
    WHERE timezone IN (SELECT name FROM pg_timezone_names())
),
scopes AS (
    SELECT scope_workspace, scope_team, timezone, default_timezone
    FROM ops.journey_scopes
)
SELECT
    i.workspace_id,
    i.team_key,
    s.scope_workspace,
    s.scope_team,
    coalesce(s.timezone, t.timezone, s.default_timezone) AS timezone
FROM issues AS i
LEFT JOIN teams AS t ON t.workspace_id = i.workspace_id AND t.team_id = i.team_id
JOIN scopes AS s
    ON s.scope_workspace IN (i.workspace_id, '*') AND s.scope_team IN (i.team_key, '*')
QUALIFY row_number() OVER (
    PARTITION BY i.workspace_id, i.team_key
    ORDER BY (s.scope_team <> '*') DESC, (s.scope_workspace <> '*') DESC
) = 1
