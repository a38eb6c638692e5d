-- Per pull request, the first review activity by someone other than its author: a submitted review
-- (not PENDING) or a PR/review comment, made after the PR was opened and not after it was merged or
-- closed. DevLake's "first review" of PR pickup and review time.
WITH pulls AS (
    SELECT workspace_id, repo, number, author, created_at, coalesce(merged_at, closed_at) AS ended_at
    FROM core.github_pull_requests
),
reviews AS (
    SELECT workspace_id, repo, pr_number AS number, author, submitted_at AS event_at
    FROM core.github_reviews
    WHERE submitted_at IS NOT NULL AND upper(coalesce(state, '')) <> 'PENDING'
),
comments AS (
    SELECT workspace_id, repo, number, author, created_at AS event_at FROM core.github_comments
),
activity AS (
    SELECT workspace_id, repo, number, author, event_at, true AS is_review FROM reviews
    UNION ALL
    SELECT workspace_id, repo, number, author, event_at, false FROM comments
)
SELECT
    p.workspace_id,
    p.repo,
    p.number,
    min(a.event_at) AS first_review_at,
    count(*) FILTER (WHERE a.is_review) AS reviews,
    count(DISTINCT a.author) AS reviewers
FROM pulls AS p
JOIN activity AS a ON a.workspace_id = p.workspace_id AND a.repo = p.repo AND a.number = p.number
WHERE a.author IS DISTINCT FROM p.author AND a.event_at >= p.created_at AND (p.ended_at IS NULL OR a.event_at <= p.ended_at)
GROUP BY p.workspace_id, p.repo, p.number
