-- Everything that touched a ticket, with the time it happened (up to as_of): linked Slack threads
-- (thread start), linked pull requests (opened), Linear comments, and AI agent events naming the
-- ticket (by issue id or identifier).
WITH params AS (
    SELECT as_of FROM staging.journey_params
),
links AS (
    SELECT workspace_id, ticket_id, kind, repo, number, thread_at
    FROM staging.journey_ticket_links
),
pulls AS (
    SELECT workspace_id, repo, number, created_at FROM core.github_pull_requests
),
comments AS (
    SELECT workspace_id, issue_id, created_at FROM core.linear_comments
),
agent_events AS (
    SELECT workspace_id, ticket_id, occurred_at FROM core.agent_events WHERE ticket_id IS NOT NULL
),
issues AS (
    SELECT workspace_id, issue_id, issue_id AS ticket_key FROM core.linear_issues
    UNION ALL
    SELECT workspace_id, issue_id, identifier FROM core.linear_issues
),
touchpoints AS (
    SELECT workspace_id, ticket_id, 'slack_thread' AS kind, thread_at AS event_at
    FROM links WHERE kind = 'slack' AND thread_at IS NOT NULL
    UNION ALL
    SELECT l.workspace_id, l.ticket_id, 'pull_request', p.created_at
    FROM links AS l
    JOIN pulls AS p ON p.workspace_id = l.workspace_id AND p.repo = l.repo AND p.number = l.number
    WHERE l.kind = 'pr'
    UNION ALL
    SELECT workspace_id, issue_id, 'comment', created_at FROM comments
    UNION ALL
    SELECT a.workspace_id, i.issue_id, 'agent_event', a.occurred_at
    FROM agent_events AS a
    JOIN issues AS i ON i.workspace_id = a.workspace_id AND i.ticket_key = a.ticket_id
)
SELECT workspace_id, ticket_id, kind, event_at
FROM touchpoints
WHERE event_at <= (SELECT as_of FROM params)
