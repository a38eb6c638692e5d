-- Tickets of the team entering each journey stage this week [$window_start, $window_end) and in the
-- same span of last week [$previous_start, $previous_end) (marts.ticket_stage_intervals; a ticket
-- counts once per stage and span).
SELECT
    stage,
    min(stage_order) AS stage_order,
    count(DISTINCT ticket_id) FILTER (WHERE entered_at >= $window_start AND entered_at < $window_end) AS this_week,
    count(DISTINCT ticket_id) FILTER (WHERE entered_at >= $previous_start AND entered_at < $previous_end) AS last_week
FROM marts.ticket_stage_intervals
WHERE workspace_id = $workspace_id
  AND ($team IS NULL OR upper(team_key) = $team)
GROUP BY stage
ORDER BY stage_order, stage
