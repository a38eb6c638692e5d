-- Spend per workspace, month and project. spend_usd: what the project costs (in_spend rows, no
-- double counting); attributed_usd: the part traced to pipeline or agent calls (which may sit inside
-- the organization usage). Key: workspace_id, month_start, project.
WITH daily AS (
    SELECT * FROM marts.cost_daily
)
SELECT
    workspace_id,
    date_trunc('month', day)::DATE AS month_start,
    project,
    sum(calls) FILTER (WHERE in_spend) AS calls,
    sum(input_tokens) FILTER (WHERE in_spend) AS input_tokens,
    sum(output_tokens) FILTER (WHERE in_spend) AS output_tokens,
    sum(cost_usd) FILTER (WHERE in_spend) AS spend_usd,
    sum(cost_usd) FILTER (WHERE source <> 'openai_usage') AS attributed_usd,
    coalesce(sum(unpriced_calls) FILTER (WHERE in_spend), 0) AS unpriced_calls
FROM daily
GROUP BY ALL
