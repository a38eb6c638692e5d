-- The team's delivered tickets and cycle time (p50, p85, hours) for the $weeks weeks up to the week
-- starting $week_start (marts.cycle_time_weekly; weeks start on Monday in the team's time zone).
-- Weeks without deliveries have no row.
SELECT week_start, tickets_delivered, cycle_p50_hours, cycle_p85_hours
FROM marts.cycle_time_weekly
WHERE workspace_id = $workspace_id
  AND upper(team_key) = $team
  AND week_start <= $week_start::DATE
  AND week_start > $week_start::DATE - 7 * CAST($weeks AS INTEGER)
ORDER BY week_start
