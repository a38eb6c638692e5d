-- AI usage and cost per workspace, UTC day, source, provider, model and project. calls: model
-- requests; input_tokens include cached_tokens; cost_usd sums priced calls only (NULL when none is
-- priced) and unpriced_calls counts the calls of unknown models. in_spend: the rows that make up
-- spend (sum cost_usd WHERE in_spend for totals; see staging.llm_usage_costs).
-- Key: workspace_id, day, source, provider, model, project.
WITH usage AS (
    SELECT * FROM staging.llm_usage_costs
)
SELECT
    workspace_id,
    usage_day AS day,
    source,
    provider,
    model,
    project,
    bool_or(in_spend) AS in_spend,
    sum(calls) AS calls,
    sum(input_tokens) AS input_tokens,
    sum(cached_tokens) AS cached_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cost_usd) AS cost_usd,
    coalesce(sum(calls) FILTER (WHERE cost_usd IS NULL), 0) AS unpriced_calls
FROM usage
GROUP BY workspace_id, usage_day, source, provider, model, project
