-- Monthly AI budgets (ops.cost_budgets, configured in PMFLOW_BUDGETS) against spend, one row per
-- budget and month up to as_of (ops.cost_settings.as_of; today in UTC when unset). spent_usd: the
-- month's spend up to and including as_of (in_spend rows of marts.cost_daily matching the budget's
-- project and model patterns). Forecast for the current month: spent_usd + daily_rate_usd x days_left,
-- where daily_rate_usd is the mean daily spend of the 7 days before as_of (days without spend count
-- as 0) and days_left the days after as_of up to the month's last day; a closed month's forecast is
-- its spend. soft_crossed_by / hard_crossed_by: 'actual' when spent_usd >= limit x threshold,
-- 'forecast' when only forecast_usd is, else NULL. status: hard_exceeded, hard_forecast,
-- soft_exceeded, soft_forecast or ok (the first that applies). Calls of unknown models are not in
-- spent_usd: unpriced_calls counts them. Key: workspace_id, budget, period.
WITH budgets AS (
    SELECT workspace_id, budget, project_pattern, model_pattern, limit_usd, soft_threshold, hard_threshold
    FROM ops.cost_budgets
),
settings AS (
    SELECT b.workspace_id, coalesce(max(s.as_of), CAST(timezone('UTC', now()) AS DATE)) AS as_of
    FROM (SELECT DISTINCT workspace_id FROM budgets) AS b
    LEFT JOIN ops.cost_settings AS s ON s.workspace_id = b.workspace_id
    GROUP BY b.workspace_id
),
daily AS (
    SELECT workspace_id, day, project, model, sum(cost_usd) AS cost_usd, sum(unpriced_calls) AS unpriced_calls
    FROM marts.cost_daily
    WHERE in_spend
    GROUP BY workspace_id, day, project, model
),
budget_daily AS (
    SELECT b.workspace_id, b.budget, d.day, coalesce(sum(d.cost_usd), 0) AS cost_usd,
           sum(d.unpriced_calls) AS unpriced_calls
    FROM budgets AS b
    JOIN daily AS d
        ON d.workspace_id = b.workspace_id
        AND (b.project_pattern IS NULL OR d.project LIKE b.project_pattern ESCAPE '\')
        AND (b.model_pattern IS NULL OR d.model LIKE b.model_pattern ESCAPE '\')
    GROUP BY b.workspace_id, b.budget, d.day
),
periods AS (
    SELECT DISTINCT bd.workspace_id, bd.budget, date_trunc('month', bd.day)::DATE AS month_start
    FROM budget_daily AS bd
    JOIN settings AS s ON s.workspace_id = bd.workspace_id
    WHERE bd.day <= s.as_of
    UNION
    SELECT b.workspace_id, b.budget, date_trunc('month', s.as_of)::DATE AS month_start
    FROM budgets AS b
    JOIN settings AS s ON s.workspace_id = b.workspace_id
),
spend AS (
    SELECT
        p.workspace_id, p.budget, p.month_start, s.as_of,
        coalesce(sum(bd.cost_usd) FILTER (
            WHERE bd.day >= p.month_start AND bd.day <= least(s.as_of, last_day(p.month_start))), 0) AS spent_usd,
        coalesce(sum(bd.cost_usd) FILTER (WHERE bd.day >= s.as_of - 7 AND bd.day < s.as_of), 0) / 7.0 AS daily_rate_usd,
        coalesce(sum(bd.unpriced_calls) FILTER (
            WHERE bd.day >= p.month_start AND bd.day <= least(s.as_of, last_day(p.month_start))), 0) AS unpriced_calls,
        greatest(0, datediff('day', s.as_of, last_day(p.month_start))) AS days_left
    FROM periods AS p
    JOIN settings AS s ON s.workspace_id = p.workspace_id
    LEFT JOIN budget_daily AS bd ON bd.workspace_id = p.workspace_id AND bd.budget = p.budget
    GROUP BY p.workspace_id, p.budget, p.month_start, s.as_of
),
measured AS (
    SELECT
        sp.*, b.limit_usd, b.soft_threshold, b.hard_threshold, b.project_pattern, b.model_pattern,
        sp.spent_usd + sp.daily_rate_usd * sp.days_left AS forecast_usd
    FROM spend AS sp
    JOIN budgets AS b ON b.workspace_id = sp.workspace_id AND b.budget = sp.budget
),
crossed AS (
    SELECT
        *,
        CASE WHEN spent_usd >= limit_usd * soft_threshold THEN 'actual'
             WHEN forecast_usd >= limit_usd * soft_threshold THEN 'forecast' END AS soft_crossed_by,
        CASE WHEN spent_usd >= limit_usd * hard_threshold THEN 'actual'
             WHEN forecast_usd >= limit_usd * hard_threshold THEN 'forecast' END AS hard_crossed_by
    FROM measured
)
SELECT
    workspace_id,
    budget,
    strftime(month_start, '%Y-%m') AS period,
    month_start,
    as_of,
    project_pattern,
    model_pattern,
    round(spent_usd, 6) AS spent_usd,
    round(daily_rate_usd, 6) AS daily_rate_usd,
    days_left,
    round(forecast_usd, 6) AS forecast_usd,
    limit_usd,
    soft_threshold,
    hard_threshold,
    spent_usd / nullif(limit_usd, 0) AS spent_ratio,
    forecast_usd / nullif(limit_usd, 0) AS forecast_ratio,
    soft_crossed_by,
    hard_crossed_by,
    unpriced_calls,
    CASE WHEN hard_crossed_by = 'actual' THEN 'hard_exceeded'
         WHEN hard_crossed_by = 'forecast' THEN 'hard_forecast'
         WHEN soft_crossed_by = 'actual' THEN 'soft_exceeded'
         WHEN soft_crossed_by = 'forecast' THEN 'soft_forecast'
         ELSE 'ok' END AS status
FROM crossed
