-- The units ticket matching decides on, one row each: a Slack thread (parent plus replies) or a
-- standalone message, a GitHub pull request or a GitHub issue. `text` is everything the matcher
-- reads (deleted messages left out), `opener` the first live message or the title, and `fingerprint`
-- the md5 of the text, so a re-run processes only new or changed units. source_id is
-- <channel_id>:<ts> for Slack and <owner/name>#<number> for GitHub.
WITH messages AS (
    SELECT
        m.workspace_id,
        m.channel_id,
        m.ts,
        coalesce(m.thread_ts, m.ts) AS root_ts,
        m.user_id,
        m.subtype,
        m.text,
        m.posted_at,
        m.is_deleted,
        CAST(m.ts AS DECIMAL(18, 6)) AS ts_order,
        coalesce(u.is_bot, false) OR coalesce(m.subtype = 'bot_message', false) OR coalesce(m.user_id LIKE 'B%', false) AS is_bot
    FROM core.slack_messages AS m
    LEFT JOIN core.slack_users AS u ON u.workspace_id = m.workspace_id AND u.user_id = m.user_id
),
threads AS (
    SELECT
        workspace_id,
        channel_id,
        root_ts,
        count(*) FILTER (WHERE NOT is_deleted AND ts <> root_ts) AS replies,
        count(*) FILTER (WHERE NOT is_deleted) AS live_messages,
        count(*) FILTER (WHERE NOT is_deleted AND NOT is_bot) AS human_messages,
        string_agg(coalesce(text, ''), chr(10) ORDER BY ts_order) FILTER (WHERE NOT is_deleted) AS text,
        coalesce(max(text) FILTER (WHERE ts = root_ts AND NOT is_deleted),
                 arg_min(text, ts_order) FILTER (WHERE NOT is_deleted)) AS opener,
        max(subtype) FILTER (WHERE ts = root_ts) AS opener_subtype,
        bool_or(is_bot) FILTER (WHERE ts = root_ts) AS opener_is_bot,
        min(posted_at) AS started_at
    FROM messages
    GROUP BY workspace_id, channel_id, root_ts
),
slack AS (
    SELECT
        workspace_id,
        CASE WHEN replies > 0 THEN 'slack_thread' ELSE 'slack_message' END AS source_kind,
        channel_id || ':' || root_ts AS source_id,
        started_at,
        coalesce(opener, '') AS opener,
        text,
        opener_subtype AS subtype,
        coalesce(opener_is_bot, false) AS opener_is_bot,
        human_messages = 0 AS bot_only,
        live_messages AS messages,
        'https://slack.com/archives/' || channel_id || '/p' || replace(root_ts, '.', '') AS url,
        channel_id AS container
    FROM threads
    WHERE live_messages > 0
),
github_comments AS (
    SELECT workspace_id, repo, number,
           string_agg(coalesce(body, ''), chr(10) ORDER BY created_at, comment_id) AS text,
           count(*) AS comments
    FROM core.github_comments
    GROUP BY workspace_id, repo, number
),
github AS (
    SELECT
        p.workspace_id,
        'github_pr' AS source_kind,
        p.repo || '#' || p.number AS source_id,
        p.created_at AS started_at,
        coalesce(p.title, '') AS opener,
        concat_ws(chr(10), p.title, p.head_ref, p.body, c.text) AS text,
        NULL AS subtype,
        coalesce(p.author LIKE '%[bot]', false) AS opener_is_bot,
        coalesce(p.author LIKE '%[bot]', false) AS bot_only,
        1 + coalesce(c.comments, 0) AS messages,
        p.url,
        p.repo AS container
    FROM core.github_pull_requests AS p
    LEFT JOIN github_comments AS c USING (workspace_id, repo, number)
    UNION ALL
    SELECT
        i.workspace_id,
        'github_issue',
        i.repo || '#' || i.number,
        i.created_at,
        coalesce(i.title, ''),
        concat_ws(chr(10), i.title, i.body, c.text),
        NULL,
        coalesce(i.author LIKE '%[bot]', false),
        coalesce(i.author LIKE '%[bot]', false),
        1 + coalesce(c.comments, 0),
        i.url,
        i.repo
    FROM core.github_issues AS i
    LEFT JOIN github_comments AS c USING (workspace_id, repo, number)
),
units AS (
    SELECT * FROM slack
    UNION ALL
    SELECT * FROM github
)
SELECT *, md5(source_kind || chr(31) || coalesce(text, '')) AS fingerprint
FROM units
