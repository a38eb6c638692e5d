-- Every visit of a ticket to a journey stage, as of staging.journey_params.as_of. Consecutive states
-- mapping to the same stage merge into one visit; going back to a stage starts a new visit
-- (visit_number counts visits to that stage, visit_seq all visits of the ticket). exited_at is NULL
-- for the current visit, whose hours_in_stage run to as_of. is_reopen: the visit leaves a done or
-- closed stage for an open one. is_started: the stage is at or after the team's starts_cycle stage.
-- Of several changes at one instant only the last counts. Key: workspace_id, ticket_id, visit_seq.
WITH events AS (
    SELECT workspace_id, ticket_id, event_at, seq, tiebreak, state_code, pr_delta
    FROM staging.journey_stage_events
),
stages AS (
    SELECT workspace_id, team_key, stage, stage_order, is_done, is_closed, cycle_start_order
    FROM staging.journey_stages
),
issues AS (
    SELECT workspace_id, issue_id, identifier, coalesce(team_key, '') AS team_key FROM core.linear_issues
),
params AS (
    SELECT as_of FROM staging.journey_params
),
-- The window passes carry as few columns as they can: their cost grows with row width. After the
-- first pass a ticket has at most one row per instant, so event_at alone orders them.
timeline AS (
    SELECT
        workspace_id, ticket_id, event_at, seq, tiebreak,
        last_value(state_code IGNORE NULLS) OVER w AS state_code,
        sum(pr_delta) OVER w AS open_prs,
        lead(event_at) OVER w AS next_at
    FROM events
    WINDOW w AS (PARTITION BY workspace_id, ticket_id ORDER BY event_at, seq, tiebreak ROWS UNBOUNDED PRECEDING)
),
effective AS (
    SELECT
        workspace_id, ticket_id, event_at,
        CASE WHEN open_prs > 0 AND state_code % 1000 > 0 THEN state_code % 1000 ELSE state_code // 1000 END AS stage_order
    FROM timeline
    WHERE state_code IS NOT NULL AND next_at IS DISTINCT FROM event_at
),
changes AS (
    SELECT
        workspace_id, ticket_id, event_at, stage_order,
        lag(stage_order) OVER (PARTITION BY workspace_id, ticket_id ORDER BY event_at) AS prev_order
    FROM effective
),
visits AS (
    SELECT
        workspace_id, ticket_id, stage_order, prev_order, event_at AS entered_at,
        lead(event_at) OVER w AS exited_at,
        lead(stage_order) OVER w AS next_order,
        row_number() OVER w AS visit_seq
    FROM changes
    WHERE prev_order IS DISTINCT FROM stage_order
    WINDOW w AS (PARTITION BY workspace_id, ticket_id ORDER BY event_at)
),
numbered AS (
    SELECT *, row_number() OVER (PARTITION BY workspace_id, ticket_id, stage_order ORDER BY visit_seq) AS visit_number
    FROM visits
)
SELECT
    v.workspace_id,
    v.ticket_id,
    i.identifier,
    i.team_key,
    s.stage,
    v.stage_order,
    v.visit_number,
    v.visit_seq,
    v.entered_at,
    v.exited_at,
    (epoch(coalesce(v.exited_at, p.as_of)) - epoch(v.entered_at)) / 3600.0 AS hours_in_stage,
    v.exited_at IS NULL AS is_current,
    ps.stage AS prev_stage,
    ns.stage AS next_stage,
    coalesce((ps.is_done OR ps.is_closed) AND NOT (s.is_done OR s.is_closed), false) AS is_reopen,
    v.stage_order >= s.cycle_start_order AS is_started,
    s.is_done,
    s.is_closed
FROM numbered AS v
CROSS JOIN params AS p
JOIN issues AS i ON i.workspace_id = v.workspace_id AND i.issue_id = v.ticket_id
JOIN stages AS s ON s.workspace_id = v.workspace_id AND s.team_key = i.team_key AND s.stage_order = v.stage_order
LEFT JOIN stages AS ps ON ps.workspace_id = v.workspace_id AND ps.team_key = i.team_key AND ps.stage_order = v.prev_order
LEFT JOIN stages AS ns ON ns.workspace_id = v.workspace_id AND ns.team_key = i.team_key AND ns.stage_order = v.next_order
