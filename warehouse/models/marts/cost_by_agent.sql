-- AI cost per agent and month (agent traces and pipeline calls that name an agent); tickets and
-- outcomes per agent are in marts.agent_activity.
-- Key: workspace_id, agent, month_start.
WITH calls AS (
    SELECT * FROM staging.llm_usage_costs WHERE agent IS NOT NULL AND source <> 'openai_usage'
)
SELECT
    workspace_id,
    agent,
    month_start,
    sum(calls) AS calls,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cost_usd) AS cost_usd,
    coalesce(sum(calls) FILTER (WHERE cost_usd IS NULL), 0) AS unpriced_calls
FROM calls
GROUP BY workspace_id, agent, month_start
