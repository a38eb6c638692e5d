-- Conversations the matcher decided are new work with no ticket (decision 'new_work'), started in
-- [$since, $window_end), still there (not deleted); the team's, or no team's.
-- is_new: started inside the report window (when it was decided says nothing about the conversation).
SELECT
    source_id, channel_id, channel_name, ts, text, author, reply_count, posted_at, decided_at, score, team_key,
    posted_at >= $window_start AS is_new
FROM standup_threads
WHERE workspace_id = $workspace_id
  AND decision = 'new_work' AND ticket_id IS NULL
  AND NOT is_deleted
  AND ($team IS NULL OR team_key = $team OR team_key IS NULL)
  AND posted_at < $window_end
  AND posted_at >= $since
ORDER BY posted_at DESC, source_id
