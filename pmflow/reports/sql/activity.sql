-- How much moved in the window [$window_start, $window_end) for the team: ticket state changes and
-- new tickets, pull requests opened, merged or reviewed, new untracked conversations and agent
-- escalations. All zero: a quiet day.
SELECT
    (SELECT count(*) FROM core.linear_issue_history AS h
        JOIN standup_issues AS i ON i.workspace_id = h.workspace_id AND i.issue_id = h.issue_id
        WHERE h.workspace_id = $workspace_id AND ($team IS NULL OR i.team_key = $team)
          AND h.changed_at >= $window_start AND h.changed_at < $window_end) AS state_changes,
    (SELECT count(*) FROM standup_issues
        WHERE workspace_id = $workspace_id AND ($team IS NULL OR team_key = $team)
          AND (created_at >= $window_start AND created_at < $window_end
               OR completed_at >= $window_start AND completed_at < $window_end
               OR canceled_at >= $window_start AND canceled_at < $window_end)) AS tickets_touched,
    (SELECT count(*) FROM core.github_pull_requests AS p
        JOIN standup_pr_teams AS t ON t.workspace_id = p.workspace_id AND t.repo = p.repo AND t.number = p.number
        WHERE p.workspace_id = $workspace_id AND ($team IS NULL OR t.team_key = $team OR t.team_key IS NULL)
          AND (p.created_at >= $window_start AND p.created_at < $window_end
               OR p.merged_at >= $window_start AND p.merged_at < $window_end
               OR p.closed_at >= $window_start AND p.closed_at < $window_end)) AS prs_touched,
    (SELECT count(*) FROM core.github_reviews AS r
        JOIN standup_pr_teams AS t ON t.workspace_id = r.workspace_id AND t.repo = r.repo AND t.number = r.pr_number
        WHERE r.workspace_id = $workspace_id AND ($team IS NULL OR t.team_key = $team OR t.team_key IS NULL)
          AND r.submitted_at >= $window_start AND r.submitted_at < $window_end) AS reviews,
    (SELECT count(*) FROM standup_threads
        WHERE workspace_id = $workspace_id AND decision = 'new_work' AND ticket_id IS NULL
          AND ($team IS NULL OR team_key = $team OR team_key IS NULL)
          AND posted_at >= $window_start AND posted_at < $window_end) AS new_untracked,
    (SELECT count(*) FROM core.agent_events AS e
        LEFT JOIN standup_issues AS i ON i.workspace_id = e.workspace_id AND e.ticket_id IN (i.issue_id, i.identifier)
        WHERE e.workspace_id = $workspace_id AND e.kind = 'escalation'
          AND ($team IS NULL OR i.team_key = $team OR i.team_key IS NULL)
          AND e.occurred_at >= $window_start AND e.occurred_at < $window_end) AS escalations
