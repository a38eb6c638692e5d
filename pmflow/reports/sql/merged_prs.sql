-- Pull requests merged in the window [$window_start, $window_end), attributed to the team (or to no
-- team: those show in every team's report).
SELECT p.repo, p.number, p.title, p.url, p.author, p.merged_at, t.identifier, t.team_key
FROM core.github_pull_requests AS p
JOIN standup_pr_teams AS t ON t.workspace_id = p.workspace_id AND t.repo = p.repo AND t.number = p.number
WHERE p.workspace_id = $workspace_id
  AND ($team IS NULL OR t.team_key = $team OR t.team_key IS NULL)
  AND p.merged_at >= $window_start AND p.merged_at < $window_end
ORDER BY p.merged_at, p.repo, p.number
