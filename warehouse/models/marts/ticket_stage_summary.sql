-- One row per ticket and stage it visited: visits, hours of the latest visit and cumulative hours
-- (the current visit counts up to as_of), and touchpoints during its visits (linked Slack threads,
-- linked PRs, Linear comments, agent events), each credited to the visit under way when it
-- happened; touchpoints before the ticket's first visit go to that first visit.
-- Key: workspace_id, ticket_id, stage.
WITH intervals AS NOT MATERIALIZED (
    SELECT workspace_id, ticket_id, team_key, stage, stage_order, visit_seq, entered_at, exited_at, hours_in_stage
    FROM marts.ticket_stage_intervals
),
touchpoints AS (
    SELECT workspace_id, ticket_id, kind, event_at FROM staging.journey_touchpoints
),
credited AS (
    SELECT i.workspace_id, i.ticket_id, i.stage, t.kind
    FROM touchpoints AS t
    JOIN intervals AS i
        ON i.workspace_id = t.workspace_id AND i.ticket_id = t.ticket_id
        AND (t.event_at >= i.entered_at OR i.visit_seq = 1)
        AND (t.event_at < i.exited_at OR i.exited_at IS NULL)
),
touch_counts AS (
    SELECT
        workspace_id, ticket_id, stage,
        count(*) FILTER (WHERE kind = 'slack_thread') AS slack_threads,
        count(*) FILTER (WHERE kind = 'pull_request') AS pull_requests,
        count(*) FILTER (WHERE kind = 'comment') AS comments,
        count(*) FILTER (WHERE kind = 'agent_event') AS agent_events
    FROM credited
    GROUP BY ALL
),
visits AS (
    SELECT
        workspace_id, ticket_id, any_value(team_key) AS team_key, stage, any_value(stage_order) AS stage_order,
        count(*) AS visits,
        arg_max(hours_in_stage, visit_seq) AS latest_hours,
        sum(hours_in_stage) AS cumulative_hours,
        min(entered_at) AS first_entered_at,
        max(entered_at) AS last_entered_at
    FROM intervals
    GROUP BY workspace_id, ticket_id, stage
)
SELECT
    v.*,
    coalesce(c.slack_threads, 0) AS slack_threads,
    coalesce(c.pull_requests, 0) AS pull_requests,
    coalesce(c.comments, 0) AS comments,
    coalesce(c.agent_events, 0) AS agent_events
FROM visits AS v
LEFT JOIN touch_counts AS c USING (workspace_id, ticket_id, stage)
