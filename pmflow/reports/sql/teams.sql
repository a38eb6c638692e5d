-- The Linear teams of a workspace: those Linear lists, and any team key tickets carry, with the
-- team's name and time zone as Linear gives them (the report settings may override the zone).
WITH listed AS (
    SELECT upper(key) AS team_key, any_value(name) AS name, any_value(timezone) AS timezone
    FROM core.linear_teams
    WHERE workspace_id = $workspace_id AND key IS NOT NULL
    GROUP BY ALL
),
used AS (
    SELECT DISTINCT upper(team_key) AS team_key
    FROM core.linear_issues
    WHERE workspace_id = $workspace_id AND team_key IS NOT NULL AND team_key <> ''
)
SELECT team_key, l.name, l.timezone
FROM (SELECT team_key FROM listed UNION SELECT team_key FROM used) AS t
LEFT JOIN listed AS l USING (team_key)
ORDER BY team_key
