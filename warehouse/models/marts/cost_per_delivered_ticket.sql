-- AI cost of each delivered ticket (core.linear_issues with completed_at): the calls that name it by
-- identifier (ENG-123) or issue id. cost_usd is 0 when no call names it, NULL when only unpriced
-- calls do. Key: workspace_id, issue_id.
WITH delivered AS (
    SELECT workspace_id, issue_id, identifier, title, team_key, project_id, completed_at
    FROM core.linear_issues
    WHERE completed_at IS NOT NULL
),
ticket_costs AS (
    SELECT * FROM marts.cost_by_ticket
),
refs AS (
    SELECT workspace_id, issue_id, identifier AS ticket_ref FROM delivered
    UNION
    SELECT workspace_id, issue_id, issue_id AS ticket_ref FROM delivered
),
per_issue AS (
    SELECT r.workspace_id, r.issue_id, sum(t.calls) AS calls, sum(t.cost_usd) AS cost_usd,
           sum(t.unpriced_calls) AS unpriced_calls, sum(t.input_tokens) AS input_tokens,
           sum(t.output_tokens) AS output_tokens
    FROM refs AS r
    JOIN ticket_costs AS t ON t.workspace_id = r.workspace_id AND t.ticket_id = r.ticket_ref
    GROUP BY r.workspace_id, r.issue_id
)
SELECT
    d.workspace_id,
    d.issue_id,
    d.identifier,
    d.title,
    d.team_key,
    d.project_id,
    d.completed_at,
    date_trunc('month', d.completed_at)::DATE AS delivered_month,
    coalesce(p.calls, 0) AS calls,
    coalesce(p.input_tokens, 0) AS input_tokens,
    coalesce(p.output_tokens, 0) AS output_tokens,
    CASE WHEN p.calls IS NULL THEN 0.0 ELSE p.cost_usd END AS cost_usd,
    coalesce(p.unpriced_calls, 0) AS unpriced_calls
FROM delivered AS d
LEFT JOIN per_issue AS p ON p.workspace_id = d.workspace_id AND p.issue_id = d.issue_id
