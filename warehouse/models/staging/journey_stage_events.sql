-- The timeline a ticket's stages are read from, up to as_of: its initial state at created_at (the
-- from_state of its first history entry, or its current state when it has no history), every state
-- change, its archiving, each mapped to its stage: state_code = stage_order * 1000 + the order of the
-- stage an open PR lifts it to (0: none); and +1 / -1 when a linked, non-draft PR opens / closes
-- (pr_delta, with a NULL state_code). Unmapped states are left out: the ticket stays put.
-- Ties at one instant are ordered by seq (0 creation, 1 change or PR, 2 archive) then tiebreak.
WITH params AS (
    SELECT as_of FROM staging.journey_params
),
issues AS (
    SELECT workspace_id, issue_id, coalesce(team_key, '') AS team_key, state_name, state_type, created_at, archived_at
    FROM core.linear_issues
),
history AS NOT MATERIALIZED (
    SELECT workspace_id, issue_id, history_id, from_state, from_state_type, to_state, to_state_type, changed_at
    FROM core.linear_issue_history
),
state_stages AS (
    SELECT workspace_id, team_key, state_name, state_type, stage_order, lifted_order
    FROM staging.journey_state_stages
    WHERE stage IS NOT NULL
),
links AS (
    SELECT workspace_id, ticket_id, repo, number
    FROM staging.journey_ticket_links
    WHERE kind = 'pr' AND repo IS NOT NULL
),
pulls AS (
    SELECT workspace_id, repo, number, created_at, coalesce(merged_at, closed_at) AS ended_at, draft, state
    FROM core.github_pull_requests
),
first_change AS (
    SELECT workspace_id, issue_id, arg_min(from_state, (changed_at, history_id)) AS from_state,
           arg_min(from_state_type, (changed_at, history_id)) AS from_state_type
    FROM history
    GROUP BY ALL
),
states AS (
    SELECT i.workspace_id, i.issue_id, i.team_key, i.created_at AS event_at, 0 AS seq, '' AS tiebreak,
           coalesce(CASE WHEN f.issue_id IS NULL THEN i.state_name ELSE f.from_state END, '') AS state_name,
           coalesce(lower(CASE WHEN f.issue_id IS NULL THEN i.state_type ELSE f.from_state_type END), '') AS state_type
    FROM issues AS i
    LEFT JOIN first_change AS f ON f.workspace_id = i.workspace_id AND f.issue_id = i.issue_id
    WHERE f.issue_id IS NULL OR f.from_state IS NOT NULL OR f.from_state_type IS NOT NULL
    UNION ALL
    SELECT h.workspace_id, h.issue_id, i.team_key, h.changed_at, 1, h.history_id,
           coalesce(h.to_state, ''), coalesce(lower(h.to_state_type), '')
    FROM history AS h
    JOIN issues AS i ON i.workspace_id = h.workspace_id AND i.issue_id = h.issue_id
    UNION ALL
    SELECT workspace_id, issue_id, team_key, archived_at, 2, '', '', 'archived'
    FROM issues
    WHERE archived_at IS NOT NULL
),
pr_changes AS (
    SELECT l.workspace_id, l.ticket_id AS issue_id, p.created_at AS opened_at, p.ended_at,
           l.repo || '#' || l.number AS tiebreak
    FROM links AS l
    JOIN pulls AS p ON p.workspace_id = l.workspace_id AND p.repo = l.repo AND p.number = l.number
    WHERE NOT (coalesce(p.draft, false) AND p.ended_at IS NULL)
)
SELECT s.workspace_id, s.issue_id AS ticket_id, s.event_at, s.seq, s.tiebreak,
       m.stage_order * 1000 + coalesce(m.lifted_order, 0) AS state_code, 0 AS pr_delta
FROM states AS s
JOIN state_stages AS m
    ON m.workspace_id = s.workspace_id AND m.team_key = s.team_key
    AND m.state_name = s.state_name AND m.state_type = s.state_type
WHERE s.event_at <= (SELECT as_of FROM params)
UNION ALL
SELECT c.workspace_id, c.issue_id, e.event_at, 1, c.tiebreak, NULL, e.delta
FROM pr_changes AS c
CROSS JOIN LATERAL (VALUES (c.opened_at, 1), (c.ended_at, -1)) AS e(event_at, delta)
WHERE e.event_at IS NOT NULL AND e.event_at <= (SELECT as_of FROM params)
