-- The team's tickets in a started state, with the stage they are in and how long they have been in
-- it at $window_end: the journey stage when the journey marts have the ticket, else the Linear state.
SELECT
    identifier, title, url, assignee_name, priority, priority_rank, state_name,
    coalesce(current_stage, state_name) AS stage,
    coalesce(
        (epoch($window_end::TIMESTAMPTZ) - epoch(coalesce(current_stage_entered_at, state_entered_at))) / 3600.0,
        hours_in_current_stage
    ) AS hours_in_stage,
    coalesce(at_risk, false) AS at_risk,
    completion_probability,
    stage_p80_hours
FROM standup_issues
WHERE workspace_id = $workspace_id
  AND ($team IS NULL OR team_key = $team)
  AND state_type = 'started'
  AND archived_at IS NULL
ORDER BY priority_rank, hours_in_stage DESC, identifier
