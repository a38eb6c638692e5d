-- AI usage and cost per workspace, UTC day, source, provider, model and project. calls: model
-- requests; input_tokens include cached_tokens; cost_usd sums priced calls only (NULL when none is
-- priced) and unpriced_calls counts the calls of unknown models. in_spend: whether the row counts
-- toward spend (sum cost_usd WHERE in_spend for totals). The organization usage (source openai_usage)
-- is the basis of the bill; pipeline and agent_trace calls count only on days when no organization
-- usage covers their workspace and provider (otherwise they are already inside it and would count
-- twice). Key: workspace_id, day, source, provider, model, project.
WITH usage AS (
    SELECT * FROM staging.llm_usage_costs
),
grouped AS (
    SELECT
        workspace_id,
        usage_day AS day,
        source,
        provider,
        model,
        project,
        sum(calls) AS calls,
        sum(input_tokens) AS input_tokens,
        sum(cached_tokens) AS cached_tokens,
        sum(output_tokens) AS output_tokens,
        sum(cost_usd) AS cost_usd,
        coalesce(sum(calls) FILTER (WHERE cost_usd IS NULL), 0) AS unpriced_calls
    FROM usage
    GROUP BY workspace_id, usage_day, source, provider, model, project
),
org_covered AS (
    SELECT DISTINCT workspace_id, day, provider FROM grouped WHERE source = 'openai_usage'
)
SELECT
    g.workspace_id, g.day, g.source, g.provider, g.model, g.project,
    (g.source = 'openai_usage' OR o.workspace_id IS NULL) AS in_spend,
    g.calls, g.input_tokens, g.cached_tokens, g.output_tokens, g.cost_usd, g.unpriced_calls
FROM grouped AS g
LEFT JOIN org_covered AS o
    ON g.source <> 'openai_usage'
    AND o.workspace_id = g.workspace_id AND o.day = g.day AND o.provider = g.provider
