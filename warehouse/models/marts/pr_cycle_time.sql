-- One row per pull request opened by as_of: its cycle time split as Apache DevLake defines it.
-- coding_hours: first commit -> PR opened (0 when the first commit came later); pickup_hours: opened ->
-- first review by someone other than the author (staging.pr_first_reviews); review_hours: first review
-- -> merged; time_to_merge_hours: opened -> merged (set even without a review); cycle_hours:
-- coding + time to merge (DevLake's deploy time needs deployments, which pmflow does not ingest).
-- Merges, reviews and closes after as_of are ignored. ticket_ids: tickets linked by ticket matching.
-- Key: workspace_id, repo, number.
WITH pulls AS (
    SELECT workspace_id, repo, number, title, author, draft, created_at, merged_at, closed_at, first_commit_at
    FROM core.github_pull_requests
),
first_reviews AS (
    SELECT workspace_id, repo, number, first_review_at, reviews, reviewers FROM staging.pr_first_reviews
),
links AS (
    SELECT workspace_id, repo, number, list(DISTINCT ticket_id ORDER BY ticket_id) AS ticket_ids
    FROM staging.journey_ticket_links
    WHERE kind = 'pr' AND repo IS NOT NULL
    GROUP BY ALL
),
params AS (
    SELECT as_of FROM staging.journey_params
),
as_of_pulls AS (
    SELECT
        p.workspace_id, p.repo, p.number, p.title, p.author, p.draft, p.created_at, p.first_commit_at,
        CASE WHEN p.merged_at <= a.as_of THEN p.merged_at END AS merged_at,
        CASE WHEN p.closed_at <= a.as_of THEN p.closed_at END AS closed_at,
        CASE WHEN r.first_review_at <= a.as_of THEN r.first_review_at END AS first_review_at,
        r.reviews, r.reviewers
    FROM pulls AS p
    CROSS JOIN params AS a
    LEFT JOIN first_reviews AS r ON r.workspace_id = p.workspace_id AND r.repo = p.repo AND r.number = p.number
    WHERE p.created_at <= a.as_of
),
spans AS (
    SELECT
        *,
        greatest(epoch(created_at) - epoch(first_commit_at), 0) / 3600.0 AS coding_hours,
        (epoch(first_review_at) - epoch(created_at)) / 3600.0 AS pickup_hours,
        (epoch(merged_at) - epoch(first_review_at)) / 3600.0 AS review_hours,
        (epoch(merged_at) - epoch(created_at)) / 3600.0 AS time_to_merge_hours
    FROM as_of_pulls
)
SELECT
    s.workspace_id,
    s.repo,
    s.number,
    s.title,
    s.author,
    CASE WHEN s.merged_at IS NOT NULL THEN 'merged' WHEN s.closed_at IS NOT NULL THEN 'closed'
         WHEN s.draft THEN 'draft' ELSE 'open' END AS status,
    l.ticket_ids,
    s.first_commit_at,
    s.created_at,
    s.first_review_at,
    s.merged_at,
    s.closed_at,
    coalesce(s.reviews, 0) AS reviews,
    coalesce(s.reviewers, 0) AS reviewers,
    s.coding_hours,
    s.pickup_hours,
    s.review_hours,
    s.time_to_merge_hours,
    coalesce(s.coding_hours, 0) + s.time_to_merge_hours AS cycle_hours
FROM spans AS s
LEFT JOIN links AS l ON l.workspace_id = s.workspace_id AND l.repo = s.repo AND l.number = s.number
