-- Decisions waiting for a human: agent escalations (core.agent_events kind 'escalation') in
-- [$since, $window_end) that nothing answered yet, i.e. no later 'decision' event
-- on the same ticket or trace and no resolved/success outcome. The ticket's team, or no team (then
-- the escalation shows in every team's report). question: the first of the span attributes
-- pmflow.question, pmflow.reason, pmflow.summary, reason, question, summary, message, name.
WITH escalations AS (
    SELECT
        e.*,
        coalesce(
            json_extract_string(e.payload, '$."pmflow.question"'),
            json_extract_string(e.payload, '$.attributes."pmflow.question"'),
            json_extract_string(e.payload, '$."pmflow.reason"'),
            json_extract_string(e.payload, '$.attributes."pmflow.reason"'),
            json_extract_string(e.payload, '$."pmflow.summary"'),
            json_extract_string(e.payload, '$.attributes."pmflow.summary"'),
            json_extract_string(e.payload, '$.reason'),
            json_extract_string(e.payload, '$.question'),
            json_extract_string(e.payload, '$.summary'),
            json_extract_string(e.payload, '$.message'),
            json_extract_string(e.payload, '$.name')
        ) AS question
    FROM core.agent_events AS e
    WHERE e.workspace_id = $workspace_id
      AND e.kind = 'escalation'
      AND e.occurred_at < $window_end
      AND e.occurred_at >= $since
      AND coalesce(lower(e.outcome), '') NOT IN ('resolved', 'success', 'succeeded', 'done', 'completed')
)
SELECT
    e.event_id, e.agent, e.ticket_id, e.question, e.occurred_at,
    (epoch($window_end::TIMESTAMPTZ) - epoch(e.occurred_at)) / 3600.0 AS hours_waiting,
    i.identifier, i.title, i.url, i.team_key
FROM escalations AS e
LEFT JOIN standup_issues AS i ON i.workspace_id = e.workspace_id AND e.ticket_id IN (i.issue_id, i.identifier)
WHERE ($team IS NULL OR i.team_key = $team OR i.team_key IS NULL)
  AND NOT EXISTS (
      SELECT 1 FROM core.agent_events AS d
      WHERE d.workspace_id = e.workspace_id AND d.kind = 'decision'
        AND d.occurred_at > e.occurred_at AND d.occurred_at < $window_end
        AND ((e.ticket_id IS NOT NULL AND d.ticket_id = e.ticket_id) OR (e.trace_id IS NOT NULL AND d.trace_id = e.trace_id))
  )
ORDER BY e.occurred_at, e.event_id
