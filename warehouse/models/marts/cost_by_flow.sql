-- AI cost of pmflow's own model calls per flow run (source pipeline).
-- Key: workspace_id, flow_name, flow_run_id.
WITH calls AS (
    SELECT * FROM staging.llm_usage_costs WHERE source = 'pipeline'
)
SELECT
    workspace_id,
    flow_name,
    flow_run_id,
    sum(calls) AS calls,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cost_usd) AS cost_usd,
    coalesce(sum(calls) FILTER (WHERE cost_usd IS NULL), 0) AS unpriced_calls,
    min(occurred_at) AS first_call_at,
    max(occurred_at) AS last_call_at
FROM calls
GROUP BY workspace_id, flow_name, flow_run_id
