-- Tickets of the team completed in the window [$window_start, $window_end), still completed now.
SELECT identifier, title, url, team_key, assignee_name, priority, priority_rank, completed_at
FROM standup_issues
WHERE workspace_id = $workspace_id
  AND ($team IS NULL OR team_key = $team)
  AND state_type = 'completed'
  AND completed_at >= $window_start AND completed_at < $window_end
ORDER BY completed_at, identifier
