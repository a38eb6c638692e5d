-- AI spend of the workspace (marts.cost_daily rows that count toward spend; days are UTC days):
-- on $day, the mean of the 7 days before it, the month to date up to and including $day, and the
-- latest day with any cost data (the nightly cost flow may not have covered $day yet).
WITH daily AS (
    SELECT day, sum(cost_usd) AS cost_usd, sum(calls) AS calls
    FROM marts.cost_daily
    WHERE workspace_id = $workspace_id AND in_spend
    GROUP BY day
)
SELECT
    coalesce(sum(cost_usd) FILTER (WHERE day = $day::DATE), 0) AS day_usd,
    coalesce(sum(calls) FILTER (WHERE day = $day::DATE), 0) AS day_calls,
    coalesce(sum(cost_usd) FILTER (WHERE day >= $day::DATE - 7 AND day < $day::DATE), 0) / 7.0 AS mean_7d_usd,
    coalesce(sum(cost_usd) FILTER (WHERE day >= date_trunc('month', $day::DATE) AND day <= $day::DATE), 0) AS month_usd,
    max(day) AS latest_day
FROM daily
