-- AI cost per ticket: every pipeline and agent call that names a ticket (usage buckets name none).
-- cost_usd sums priced calls (NULL when none is priced); unpriced_calls counts the others.
-- Key: workspace_id, ticket_id.
WITH calls AS (
    SELECT * FROM staging.llm_usage_costs WHERE ticket_id IS NOT NULL AND source <> 'openai_usage'
)
SELECT
    workspace_id,
    ticket_id,
    sum(calls) AS calls,
    sum(input_tokens) AS input_tokens,
    sum(cached_tokens) AS cached_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cost_usd) AS cost_usd,
    coalesce(sum(calls) FILTER (WHERE cost_usd IS NULL), 0) AS unpriced_calls,
    min(occurred_at) AS first_call_at,
    max(occurred_at) AS last_call_at
FROM calls
GROUP BY workspace_id, ticket_id
