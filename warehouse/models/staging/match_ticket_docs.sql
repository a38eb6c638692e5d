-- The Linear tickets ticket matching ranks, one row each, with the text it indexes: title,
-- description and (in `comments`) the ticket's comments, oldest first; `ended_at` is when it was
-- completed or canceled (NULL while open), for the matcher's prior on when a ticket is discussed.
WITH comments AS (
    SELECT workspace_id, issue_id, string_agg(coalesce(body, ''), chr(10) ORDER BY created_at, comment_id) AS comments
    FROM core.linear_comments
    GROUP BY workspace_id, issue_id
)
SELECT
    i.workspace_id,
    i.issue_id,
    i.identifier,
    coalesce(i.title, '') AS title,
    coalesce(i.description, '') AS description,
    coalesce(c.comments, '') AS comments,
    i.team_id,
    coalesce(i.team_key, split_part(i.identifier, '-', 1)) AS team_key,
    i.state_type,
    i.url,
    i.created_at,
    i.archived_at,
    coalesce(i.completed_at, i.canceled_at) AS ended_at
FROM core.linear_issues AS i
LEFT JOIN comments AS c USING (workspace_id, issue_id)
