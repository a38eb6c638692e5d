-- Open tickets of the team that are blocked or stuck, one row per reason: 'blocked_by' (an open
-- ticket blocks it, core.linear_issue_relations type 'blocks', when ingested), 'label' (a label
-- named like "blocked"), 'state' (a state named like "blocked"), 'at_risk' (the journey marts flag
-- it: longer in its stage than the team's p80), 'idle' (only without journey marts: in progress and
-- not updated for $stuck_hours).
WITH open_issues AS (
    SELECT *
    FROM standup_issues
    WHERE workspace_id = $workspace_id
      AND ($team IS NULL OR team_key = $team)
      AND state_type NOT IN ('completed', 'canceled')
      AND archived_at IS NULL
),
blockers AS (
    SELECT o.identifier, 'blocked_by' AS reason, b.identifier AS detail
    FROM core.linear_issue_relations AS r
    JOIN open_issues AS o ON o.workspace_id = r.workspace_id AND o.issue_id = r.related_issue_id
    JOIN standup_issues AS b ON b.workspace_id = r.workspace_id AND b.issue_id = r.issue_id
    WHERE r.type = 'blocks' AND b.state_type NOT IN ('completed', 'canceled')
),
labelled AS (
    SELECT identifier, 'label' AS reason, list_filter(label_names, lambda x: x ILIKE '%block%')[1] AS detail
    FROM open_issues
    WHERE len(list_filter(label_names, lambda x: x ILIKE '%block%')) > 0
),
blocked_state AS (
    SELECT identifier, 'state' AS reason, state_name AS detail
    FROM open_issues
    WHERE state_name ILIKE '%block%'
),
at_risk AS (
    SELECT identifier, 'at_risk' AS reason, current_stage AS detail
    FROM open_issues
    WHERE at_risk
),
idle AS (
    SELECT identifier, 'idle' AS reason, state_name AS detail
    FROM open_issues
    WHERE NOT $has_journeys AND state_type = 'started'
      AND updated_at < $window_end::TIMESTAMPTZ - to_hours(CAST($stuck_hours AS BIGINT))
),
reasons AS (
    SELECT * FROM blockers
    UNION ALL SELECT * FROM labelled
    UNION ALL SELECT * FROM blocked_state
    UNION ALL SELECT * FROM at_risk
    UNION ALL SELECT * FROM idle
)
SELECT
    r.reason, r.detail,
    o.identifier, o.title, o.url, o.assignee_name, o.priority, o.priority_rank, o.state_name, o.state_type,
    coalesce(o.current_stage, o.state_name) AS stage,
    coalesce(
        (epoch($window_end::TIMESTAMPTZ) - epoch(coalesce(o.current_stage_entered_at, o.state_entered_at))) / 3600.0,
        o.hours_in_current_stage
    ) AS hours_in_stage,
    (epoch($window_end::TIMESTAMPTZ) - epoch(o.updated_at)) / 3600.0 AS hours_since_update,
    o.stage_p80_hours,
    o.completion_probability
FROM reasons AS r
JOIN open_issues AS o USING (identifier)
ORDER BY o.priority_rank, o.identifier, r.reason, r.detail
