-- Each pull request with the ticket and team it belongs to: the ticket a matching decision linked it
-- to (marts.ticket_links, decision 'linked', source "owner/name#123" or a .../pull/123 URL), else the
-- first identifier of a workspace ticket (ENG-123) in its branch or title; the team is that ticket's,
-- else the team most of the repository's attributed pull requests belong to; NULL when neither
-- (such a pull request is shown in every team's report).
WITH prs AS (
    SELECT workspace_id, repo, number, head_ref, title FROM core.github_pull_requests
),
pr_links AS (
    SELECT
        workspace_id,
        ticket_id,
        decided_at,
        regexp_extract(source_id, '([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)(?:#|/pull/)(\d+)', ['repo', 'number']) AS gh
    FROM marts.ticket_links
    WHERE decision = 'linked' AND ticket_id IS NOT NULL
      AND (lower(source_kind) LIKE '%pr%' OR lower(source_kind) LIKE '%pull%' OR source_id LIKE '%/pull/%')
),
linked AS (
    SELECT l.workspace_id, l.gh.repo AS repo, TRY_CAST(l.gh.number AS INTEGER) AS number,
           i.identifier, i.team_key, 0 AS rank_
    FROM pr_links AS l
    JOIN standup_issues AS i ON i.workspace_id = l.workspace_id AND l.ticket_id IN (i.issue_id, i.identifier)
    QUALIFY row_number() OVER (PARTITION BY l.workspace_id, l.gh.repo, l.gh.number ORDER BY l.decided_at DESC NULLS LAST, i.identifier) = 1
),
refs AS (
    SELECT workspace_id, repo, number,
           regexp_extract_all(upper(coalesce(head_ref, '') || ' ' || coalesce(title, '')), '[A-Z][A-Z0-9]{0,9}-[0-9]+') AS found
    FROM prs
),
mentioned AS (
    SELECT workspace_id, repo, number, unnest(found) AS identifier, generate_subscripts(found, 1) AS position
    FROM refs
),
by_mention AS (
    SELECT m.workspace_id, m.repo, m.number, i.identifier, i.team_key, 1 AS rank_
    FROM mentioned AS m
    JOIN standup_issues AS i ON i.workspace_id = m.workspace_id AND i.identifier = m.identifier
    QUALIFY row_number() OVER (PARTITION BY m.workspace_id, m.repo, m.number ORDER BY m.position) = 1
),
attributed AS (
    SELECT workspace_id, repo, number, identifier, team_key
    FROM (SELECT * FROM linked UNION ALL SELECT * FROM by_mention)
    QUALIFY row_number() OVER (PARTITION BY workspace_id, repo, number ORDER BY rank_) = 1
),
repo_teams AS (
    SELECT workspace_id, repo, team_key
    FROM attributed
    WHERE team_key <> ''
    GROUP BY workspace_id, repo, team_key
    QUALIFY row_number() OVER (PARTITION BY workspace_id, repo ORDER BY count(*) DESC, team_key) = 1
)
SELECT
    p.workspace_id,
    p.repo,
    p.number,
    a.identifier,
    coalesce(nullif(a.team_key, ''), r.team_key) AS team_key
FROM prs AS p
LEFT JOIN attributed AS a ON a.workspace_id = p.workspace_id AND a.repo = p.repo AND a.number = p.number
LEFT JOIN repo_teams AS r ON r.workspace_id = p.workspace_id AND r.repo = p.repo
