-- pmflow's computed cost of the organization usage (source openai_usage) against what the Costs API
-- bills, per workspace, day and project. drift_usd = computed - billed; drift_pct = drift / billed.
-- status: drift when |drift_pct| > drift_threshold (ops.cost_settings, default 0.05) and
-- |drift_usd| >= 0.01; missing_billed / missing_usage when one side has no row; unpriced when calls of
-- unknown models leave the computed side incomplete; open_day for days from as_of on (both sides
-- still growing); else ok. flagged = status in (drift, missing_billed, missing_usage, unpriced).
-- Line items pmflow does not price from usage (images, fine-tuning, storage) show up as drift.
-- Key: workspace_id, day, project.
WITH computed AS (
    SELECT workspace_id, day, coalesce(project, '') AS project, sum(cost_usd) AS computed_usd,
           sum(unpriced_calls) AS unpriced_calls
    FROM marts.cost_daily
    WHERE source = 'openai_usage'
    GROUP BY workspace_id, day, coalesce(project, '')
),
billed AS (
    SELECT workspace_id, usage_day AS day, coalesce(project_id, '') AS project, sum(billed_usd) AS billed_usd
    FROM staging.openai_billed_costs
    GROUP BY workspace_id, usage_day, coalesce(project_id, '')
),
settings AS (
    SELECT workspace_id, max(as_of) AS as_of, max(drift_threshold) AS drift_threshold
    FROM ops.cost_settings
    GROUP BY workspace_id
),
joined AS (
    SELECT
        coalesce(c.workspace_id, b.workspace_id) AS workspace_id,
        coalesce(c.day, b.day) AS day,
        nullif(coalesce(c.project, b.project), '') AS project,
        c.computed_usd,
        b.billed_usd,
        coalesce(c.unpriced_calls, 0) AS unpriced_calls,
        c.workspace_id IS NOT NULL AS has_usage,
        b.workspace_id IS NOT NULL AS has_billed
    FROM computed AS c
    FULL OUTER JOIN billed AS b ON b.workspace_id = c.workspace_id AND b.day = c.day AND b.project = c.project
),
measured AS (
    SELECT
        j.*,
        coalesce(s.drift_threshold, 0.05) AS drift_threshold,
        coalesce(s.as_of, CAST(timezone('UTC', now()) AS DATE)) AS as_of,
        coalesce(j.computed_usd, 0) - coalesce(j.billed_usd, 0) AS drift_usd,
        (coalesce(j.computed_usd, 0) - j.billed_usd) / nullif(j.billed_usd, 0) AS drift_pct
    FROM joined AS j
    LEFT JOIN settings AS s ON s.workspace_id = j.workspace_id
),
classified AS (
    SELECT
        *,
        CASE WHEN day >= as_of THEN 'open_day'
             WHEN unpriced_calls > 0 THEN 'unpriced'
             WHEN NOT has_billed AND coalesce(computed_usd, 0) >= 0.01 THEN 'missing_billed'
             WHEN NOT has_usage AND coalesce(billed_usd, 0) >= 0.01 THEN 'missing_usage'
             WHEN abs(drift_usd) >= 0.01 AND (drift_pct IS NULL OR abs(drift_pct) > drift_threshold) THEN 'drift'
             ELSE 'ok' END AS status
    FROM measured
)
SELECT
    workspace_id, day, project,
    round(computed_usd, 6) AS computed_usd,
    round(billed_usd, 6) AS billed_usd,
    round(drift_usd, 6) AS drift_usd,
    drift_pct,
    drift_threshold,
    unpriced_calls,
    status,
    status IN ('drift', 'missing_billed', 'missing_usage', 'unpriced') AS flagged
FROM classified
