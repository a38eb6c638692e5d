-- Open, non-draft pull requests (the team's, or no team's) waiting for a first review: no review by
-- anyone but the author since they were opened or last marked ready for review, for more than
-- $review_wait_hours at $window_end.
WITH ready AS (
    SELECT workspace_id, repo, number, max(created_at) AS ready_at
    FROM core.github_pr_events
    WHERE event = 'ready_for_review' AND created_at < $window_end
    GROUP BY ALL
),
waiting AS (
    SELECT p.*, t.identifier, t.team_key, greatest(p.created_at, coalesce(r.ready_at, p.created_at)) AS waiting_since
    FROM core.github_pull_requests AS p
    JOIN standup_pr_teams AS t ON t.workspace_id = p.workspace_id AND t.repo = p.repo AND t.number = p.number
    LEFT JOIN ready AS r ON r.workspace_id = p.workspace_id AND r.repo = p.repo AND r.number = p.number
    WHERE p.workspace_id = $workspace_id
      AND ($team IS NULL OR t.team_key = $team OR t.team_key IS NULL)
      AND p.state = 'open' AND NOT coalesce(p.draft, false)
      AND p.created_at < $window_end
)
SELECT
    w.repo, w.number, w.title, w.url, w.author, w.identifier, w.team_key, w.waiting_since,
    (epoch($window_end::TIMESTAMPTZ) - epoch(w.waiting_since)) / 3600.0 AS hours_waiting
FROM waiting AS w
WHERE (epoch($window_end::TIMESTAMPTZ) - epoch(w.waiting_since)) / 3600.0 > $review_wait_hours
  AND NOT EXISTS (
      SELECT 1 FROM core.github_reviews AS rv
      WHERE rv.workspace_id = w.workspace_id AND rv.repo = w.repo AND rv.pr_number = w.number
        AND rv.author IS DISTINCT FROM w.author
        AND rv.submitted_at >= w.waiting_since AND rv.submitted_at < $window_end
  )
ORDER BY hours_waiting DESC, w.repo, w.number
