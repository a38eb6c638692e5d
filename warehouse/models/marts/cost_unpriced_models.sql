-- Models whose calls carry no cost: unknown to the price catalogue and the override file (add them
-- to PMFLOW_PRICE_OVERRIDES), or not priced per token. Key: workspace_id, provider, model.
WITH daily AS (
    SELECT * FROM marts.cost_daily WHERE unpriced_calls > 0
)
SELECT
    workspace_id,
    provider,
    model,
    min(day) AS first_day,
    max(day) AS last_day,
    sum(unpriced_calls) AS unpriced_calls,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens
FROM daily
GROUP BY workspace_id, provider, model
