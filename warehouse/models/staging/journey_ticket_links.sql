-- Accepted links (decision = 'linked') from marts.ticket_links, resolved to Linear issue ids (the
-- link may name a ticket by issue id or by identifier), with the source classified: kind slack
-- (thread_at read from the Slack ts in source_id), pr or github_issue (repo and number read from
-- "owner/name#123" or a github.com URL), else the source_kind as given.
WITH links AS (
    SELECT DISTINCT workspace_id, lower(source_kind) AS source_kind, source_id, ticket_id
    FROM marts.ticket_links
    WHERE decision = 'linked' AND ticket_id IS NOT NULL
),
issues AS (
    SELECT workspace_id, issue_id, issue_id AS ticket_key FROM core.linear_issues
    UNION ALL
    SELECT workspace_id, issue_id, identifier FROM core.linear_issues
),
classified AS (
    SELECT
        workspace_id,
        ticket_id,
        source_kind,
        source_id,
        CASE
            WHEN source_kind LIKE '%slack%' THEN 'slack'
            WHEN source_kind LIKE '%pull%' OR source_kind LIKE '%pr' OR source_kind LIKE '%pr\_%' ESCAPE '\'
                OR source_id LIKE '%/pull/%' THEN 'pr'
            WHEN source_kind LIKE '%github%' OR source_kind LIKE '%issue%' THEN 'github_issue'
            ELSE source_kind
        END AS kind,
        regexp_extract(source_id, '([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)(?:#|/pull/|/issues/)(\d+)', ['repo', 'number']) AS gh,
        TRY_CAST(regexp_extract(source_id, '(\d{9,10}\.\d{1,6})', 1) AS DOUBLE) AS slack_ts
    FROM links
)
SELECT DISTINCT
    c.workspace_id,
    i.issue_id AS ticket_id,
    c.kind,
    c.source_kind,
    c.source_id,
    nullif(c.gh.repo, '') AS repo,
    TRY_CAST(nullif(c.gh.number, '') AS INTEGER) AS number,
    to_timestamp(c.slack_ts) AS thread_at
FROM classified AS c
JOIN issues AS i ON i.workspace_id = c.workspace_id AND i.ticket_key = c.ticket_id
