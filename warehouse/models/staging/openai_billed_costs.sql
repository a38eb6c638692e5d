-- What OpenAI bills (core.openai_costs, from the organization Costs API), in USD, one row per
-- workspace, day, project and line item; other currencies are left out.
WITH costs AS (
    SELECT workspace_id, usage_day, project_id, line_item, amount, currency FROM core.openai_costs
)
SELECT workspace_id, usage_day, project_id, line_item, amount AS billed_usd
FROM costs
WHERE currency = 'usd'
