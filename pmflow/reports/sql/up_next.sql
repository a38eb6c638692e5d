-- The team's tickets ready to start (Linear state type unstarted, e.g. Todo): highest priority
-- first, assigned before unassigned, oldest first.
SELECT identifier, title, url, assignee_name, priority, priority_rank, state_name, created_at
FROM standup_issues
WHERE workspace_id = $workspace_id
  AND ($team IS NULL OR team_key = $team)
  AND state_type = 'unstarted'
  AND archived_at IS NULL
ORDER BY priority_rank, assignee_name IS NULL, created_at, identifier
