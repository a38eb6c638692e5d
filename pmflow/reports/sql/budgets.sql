-- The monthly budgets (marts.budget_status) of the month of $day: spent, forecast, limit, status.
SELECT budget, period, spent_usd, forecast_usd, limit_usd, status
FROM marts.budget_status
WHERE workspace_id = $workspace_id AND period = strftime($day::DATE, '%Y-%m')
ORDER BY CASE status WHEN 'hard_exceeded' THEN 0 WHEN 'hard_forecast' THEN 1 WHEN 'soft_exceeded' THEN 2
                     WHEN 'soft_forecast' THEN 3 ELSE 4 END, budget
