-- Linear tickets with what a report shows about them: team key (upper case; '' when none), the
-- assignee's name, priority_rank (1 urgent .. 4 low, 5 none), label names, state_entered_at (the
-- last history entry into the current state, else started_at or created_at) and, where the journey
-- marts exist, the journey stage, when the ticket entered it, at_risk, completion probability and
-- the team's p80 for the stage.
WITH last_entry AS (
    SELECT h.workspace_id, h.issue_id, max(h.changed_at) AS entered_at
    FROM core.linear_issue_history AS h
    JOIN core.linear_issues AS i
        ON i.workspace_id = h.workspace_id AND i.issue_id = h.issue_id AND h.to_state = i.state_name
    GROUP BY ALL
),
issue_labels AS (
    SELECT workspace_id, issue_id, unnest(label_ids) AS label_id FROM core.linear_issues
),
labels AS (
    SELECT il.workspace_id, il.issue_id, list(l.name ORDER BY l.name) AS label_names
    FROM issue_labels AS il
    JOIN core.linear_labels AS l ON l.workspace_id = il.workspace_id AND l.label_id = il.label_id
    GROUP BY ALL
),
teams AS (
    SELECT workspace_id, team_id, any_value(key) AS key FROM core.linear_teams GROUP BY ALL
),
users AS (
    SELECT workspace_id, user_id, any_value(coalesce(nullif(name, ''), display_name)) AS name
    FROM core.linear_users GROUP BY ALL
)
SELECT
    i.workspace_id,
    i.issue_id,
    i.identifier,
    i.title,
    i.url,
    upper(coalesce(nullif(i.team_key, ''), t.key, '')) AS team_key,
    i.state_name,
    i.state_type,
    i.priority,
    CASE WHEN i.priority BETWEEN 1 AND 4 THEN i.priority ELSE 5 END AS priority_rank,
    i.assignee_id,
    u.name AS assignee_name,
    coalesce(lb.label_names, []) AS label_names,
    i.created_at,
    i.updated_at,
    i.started_at,
    i.completed_at,
    i.canceled_at,
    i.archived_at,
    coalesce(le.entered_at, CASE WHEN i.state_type = 'started' THEN i.started_at END, i.created_at) AS state_entered_at,
    j.current_stage,
    j.current_stage_entered_at,
    j.hours_in_current_stage,
    j.as_of AS journey_as_of,
    j.at_risk,
    j.completion_probability,
    j.stage_p80_hours
FROM core.linear_issues AS i
LEFT JOIN last_entry AS le ON le.workspace_id = i.workspace_id AND le.issue_id = i.issue_id
LEFT JOIN labels AS lb ON lb.workspace_id = i.workspace_id AND lb.issue_id = i.issue_id
LEFT JOIN teams AS t ON t.workspace_id = i.workspace_id AND t.team_id = i.team_id
LEFT JOIN users AS u ON u.workspace_id = i.workspace_id AND u.user_id = i.assignee_id
LEFT JOIN marts.ticket_journeys AS j ON j.workspace_id = i.workspace_id AND j.ticket_id = i.issue_id
