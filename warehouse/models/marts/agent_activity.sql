-- Per AI agent, everything up to as_of: tasks, decisions, escalations, handoffs (core.agent_events);
-- success_rate = successful tasks / tasks with a known outcome; escalation_rate = escalations / tasks;
-- median_seconds_to_decision: from a task's start to its first decision (a decision belongs to the
-- latest task of the same agent and trace, or ticket when there is no trace, started before it);
-- tokens from the events; llm_calls and cost_usd from the model calls of core.llm_usage naming the agent
-- (priced by the costs flow, as in marts.cost_by_agent), cost_usd summing priced calls only (NULL when
-- none is priced) and unpriced_calls counting the rest.
-- Key: workspace_id, agent.
WITH params AS (
    SELECT as_of FROM staging.journey_params
),
events AS (
    SELECT workspace_id, event_id, agent, kind, outcome, ticket_id, occurred_at,
           coalesce(started_at, occurred_at) AS started_at, coalesce(trace_id, ticket_id, '') AS thread,
           input_tokens, output_tokens
    FROM core.agent_events
    WHERE agent IS NOT NULL AND occurred_at <= (SELECT as_of FROM params)
),
usage AS (
    SELECT workspace_id, agent, sum(coalesce(requests, 1)) AS llm_calls, sum(cost_usd) AS cost_usd,
           coalesce(sum(coalesce(requests, 1)) FILTER (WHERE cost_usd IS NULL), 0) AS unpriced_calls
    FROM core.llm_usage
    WHERE agent IS NOT NULL AND source <> 'openai_usage' AND occurred_at <= (SELECT as_of FROM params)
    GROUP BY ALL
),
sequenced AS (
    SELECT
        workspace_id, agent, kind, occurred_at,
        last_value(CASE WHEN kind = 'task' THEN {'event_id': event_id, 'started_at': started_at} END IGNORE NULLS)
            OVER (PARTITION BY workspace_id, agent, thread
                  ORDER BY CASE WHEN kind = 'task' THEN started_at ELSE occurred_at END, kind = 'decision'
                  ROWS UNBOUNDED PRECEDING) AS task
    FROM events
    WHERE kind IN ('task', 'decision')
),
first_decisions AS (
    SELECT workspace_id, agent, task.event_id, epoch(min(occurred_at)) - epoch(any_value(task.started_at)) AS seconds
    FROM sequenced
    WHERE kind = 'decision' AND task IS NOT NULL
    GROUP BY workspace_id, agent, task.event_id
),
decision_times AS (
    SELECT workspace_id, agent, count(*) AS decided_tasks, median(seconds) AS median_seconds_to_decision
    FROM first_decisions
    GROUP BY ALL
),
per_agent AS (
    SELECT
        workspace_id, agent,
        count(*) FILTER (WHERE kind = 'task') AS tasks,
        count(*) FILTER (WHERE kind = 'decision') AS decisions,
        count(*) FILTER (WHERE kind = 'escalation') AS escalations,
        count(*) FILTER (WHERE kind = 'handoff') AS handoffs,
        count(*) FILTER (WHERE kind = 'task' AND outcome IS NOT NULL) AS tasks_with_outcome,
        count(*) FILTER (WHERE kind = 'task' AND outcome = 'success') AS successful_tasks,
        count(DISTINCT ticket_id) AS tickets,
        sum(input_tokens) AS input_tokens,
        sum(output_tokens) AS output_tokens,
        min(occurred_at) AS first_event_at,
        max(occurred_at) AS last_event_at
    FROM events
    GROUP BY ALL
)
SELECT
    coalesce(a.workspace_id, u.workspace_id) AS workspace_id,
    coalesce(a.agent, u.agent) AS agent,
    coalesce(a.tasks, 0) AS tasks,
    coalesce(a.decisions, 0) AS decisions,
    coalesce(a.escalations, 0) AS escalations,
    coalesce(a.handoffs, 0) AS handoffs,
    coalesce(a.tickets, 0) AS tickets,
    coalesce(a.tasks_with_outcome, 0) AS tasks_with_outcome,
    coalesce(a.successful_tasks, 0) AS successful_tasks,
    a.successful_tasks / nullif(a.tasks_with_outcome, 0) AS success_rate,
    a.escalations / nullif(a.tasks, 0) AS escalation_rate,
    coalesce(d.decided_tasks, 0) AS decided_tasks,
    d.median_seconds_to_decision,
    a.input_tokens,
    a.output_tokens,
    coalesce(u.llm_calls, 0) AS llm_calls,
    u.cost_usd,
    coalesce(u.unpriced_calls, 0) AS unpriced_calls,
    a.first_event_at,
    a.last_event_at
FROM per_agent AS a
FULL OUTER JOIN usage AS u ON u.workspace_id = a.workspace_id AND u.agent = a.agent
LEFT JOIN decision_times AS d
    ON d.workspace_id = coalesce(a.workspace_id, u.workspace_id) AND d.agent = coalesce(a.agent, u.agent)
