-- Slack conversations with their matching decision (marts.ticket_links whose source is a Slack
-- thread or message): channel and ts read from source_id (C0123ABCD:1700000000.000100, C0123ABCD/...,
-- or a permalink .../archives/C0123ABCD/p1700000000000100); the parent message's text (else the
-- decision's preview), author and replies; and a team: the team most of the channel's linked
-- conversations belong to (NULL when the channel has none: shown in every team's report).
WITH decisions AS (
    SELECT
        workspace_id, source_id, ticket_id, decision, score, decided_at, preview, source_at,
        nullif(regexp_extract(source_id, '\b([CGD][A-Z0-9]{6,})\b', 1), '') AS channel_id,
        coalesce(
            nullif(regexp_extract(source_id, '([0-9]{9,10}\.[0-9]{1,6})', 1), ''),
            nullif(regexp_replace(regexp_extract(source_id, '/p([0-9]{16})', 1), '^([0-9]{10})([0-9]{6})$', '\1.\2'), '')
        ) AS ts
    FROM marts.ticket_links
    WHERE lower(source_kind) LIKE '%slack%' OR source_id LIKE '%slack.com/archives/%'
),
linked_teams AS (
    SELECT d.workspace_id, d.channel_id, i.team_key
    FROM decisions AS d
    JOIN standup_issues AS i ON i.workspace_id = d.workspace_id AND d.ticket_id IN (i.issue_id, i.identifier)
    WHERE d.decision = 'linked' AND i.team_key <> ''
),
channel_teams AS (
    SELECT workspace_id, channel_id, team_key
    FROM linked_teams
    GROUP BY workspace_id, channel_id, team_key
    QUALIFY row_number() OVER (PARTITION BY workspace_id, channel_id ORDER BY count(*) DESC, team_key) = 1
)
SELECT
    d.workspace_id,
    d.source_id,
    d.decision,
    d.ticket_id,
    d.score,
    d.decided_at,
    d.channel_id,
    d.ts,
    c.name AS channel_name,
    coalesce(m.text, d.preview) AS text,
    m.user_id,
    coalesce(nullif(u.real_name, ''), nullif(u.display_name, ''), u.name, m.user_id) AS author,
    coalesce(m.reply_count, 0) AS reply_count,
    coalesce(m.posted_at, d.source_at, to_timestamp(TRY_CAST(d.ts AS DOUBLE))) AS posted_at,
    coalesce(m.is_deleted, false) AS is_deleted,
    ct.team_key
FROM decisions AS d
LEFT JOIN core.slack_messages AS m ON m.workspace_id = d.workspace_id AND m.channel_id = d.channel_id AND m.ts = d.ts
LEFT JOIN core.slack_channels AS c ON c.workspace_id = d.workspace_id AND c.channel_id = d.channel_id
LEFT JOIN core.slack_users AS u ON u.workspace_id = d.workspace_id AND u.user_id = m.user_id
LEFT JOIN channel_teams AS ct ON ct.workspace_id = d.workspace_id AND ct.channel_id = d.channel_id
