-- AI spend of the workspace over the UTC days [$first_day, $last_day] and the same days a week
-- earlier, and the models that cost most in the first span (marts.cost_daily rows in spend).
WITH spans AS (
    SELECT
        day, model, cost_usd, calls,
        CASE WHEN day BETWEEN $first_day::DATE AND $last_day::DATE THEN 'this'
             WHEN day BETWEEN $first_day::DATE - 7 AND $last_day::DATE - 7 THEN 'last' END AS span
    FROM marts.cost_daily
    WHERE workspace_id = $workspace_id AND in_spend
)
SELECT
    coalesce(model, '(unknown model)') AS model,
    coalesce(sum(cost_usd) FILTER (WHERE span = 'this'), 0) AS this_week_usd,
    coalesce(sum(calls) FILTER (WHERE span = 'this'), 0) AS this_week_calls,
    coalesce(sum(cost_usd) FILTER (WHERE span = 'last'), 0) AS last_week_usd
FROM spans
WHERE span IS NOT NULL
GROUP BY ALL
ORDER BY this_week_usd DESC, model
