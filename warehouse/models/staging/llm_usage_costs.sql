-- Every model call and usage bucket of core.llm_usage with its price, UTC day and month: calls (model
-- requests; 1 for a single call), tokens with NULLs as 0. usage_day is filled by the loaders and by
-- the costs flow's pricing step. Whether a row counts toward spend is decided per day in
-- marts.cost_daily (in_spend).
SELECT
    workspace_id, usage_id, occurred_at, usage_day,
    date_trunc('month', usage_day)::DATE AS month_start,
    source, provider, model, project, ticket_id, agent, flow_name, flow_run_id, endpoint,
    coalesce(batch, false) AS batch,
    coalesce(requests, 1) AS calls,
    coalesce(input_tokens, 0) AS input_tokens,
    coalesce(cached_tokens, 0) AS cached_tokens,
    coalesce(output_tokens, 0) AS output_tokens,
    cost_usd, price_status
FROM core.llm_usage
