-- Every model call and usage bucket of core.llm_usage, priced, with its UTC day and month and
-- in_spend: whether it counts toward spend. The organization usage (source openai_usage) is the
-- basis of the bill; a pipeline or agent_trace call counts only when no organization usage covers
-- its workspace, provider and day (otherwise it is already inside that usage and would count twice).
WITH usage AS (
    SELECT
        workspace_id, usage_id, occurred_at,
        coalesce(usage_day, CAST(timezone('UTC', occurred_at) AS DATE)) AS usage_day,
        source, provider, model, project, ticket_id, agent, flow_name, flow_run_id, endpoint,
        coalesce(batch, false) AS batch,
        coalesce(requests, 1) AS calls,
        coalesce(input_tokens, 0) AS input_tokens,
        coalesce(cached_tokens, 0) AS cached_tokens,
        coalesce(output_tokens, 0) AS output_tokens,
        cost_usd, price_status
    FROM core.llm_usage
),
org_covered AS (
    SELECT DISTINCT workspace_id, provider, usage_day
    FROM usage
    WHERE source = 'openai_usage'
)
SELECT
    u.*,
    date_trunc('month', u.usage_day)::DATE AS month_start,
    (u.source = 'openai_usage' OR o.workspace_id IS NULL) AS in_spend
FROM usage AS u
LEFT JOIN org_covered AS o
    ON u.source <> 'openai_usage'
    AND o.workspace_id = u.workspace_id AND o.provider = u.provider AND o.usage_day = u.usage_day
