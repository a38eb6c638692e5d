-- GitHub ingestion (issue 3): columns the connector fills beyond the public contract of 002, and the
-- conditional-request cache that lets an unchanged repository be answered with 304s only.

ALTER TABLE core.github_pull_requests ADD COLUMN labels VARCHAR[];
COMMENT ON COLUMN core.github_pull_requests.labels IS 'Label names at the last sync.';
COMMENT ON COLUMN core.github_pull_requests.first_commit_at IS 'Author date of the earliest commit (timeline committed events): where PR cycle time starts.';
COMMENT ON COLUMN core.github_pull_requests.author IS 'GitHub login; "ghost" for a deleted account, as GitHub shows it.';

ALTER TABLE core.github_issues ADD COLUMN labels VARCHAR[];
ALTER TABLE core.github_issues ADD COLUMN state_reason VARCHAR;
COMMENT ON COLUMN core.github_issues.labels IS 'Label names at the last sync.';
COMMENT ON COLUMN core.github_issues.state_reason IS 'Why a closed issue was closed: completed, not_planned; reopened after a reopen.';

ALTER TABLE core.github_comments ADD COLUMN review_id BIGINT;
ALTER TABLE core.github_comments ADD COLUMN path VARCHAR;
ALTER TABLE core.github_comments ADD COLUMN in_reply_to_id BIGINT;
ALTER TABLE core.github_comments ADD COLUMN url VARCHAR;
COMMENT ON COLUMN core.github_comments.number IS 'The issue or pull request number the comment belongs to.';
COMMENT ON COLUMN core.github_comments.review_id IS 'kind review: the review the comment was submitted with.';
COMMENT ON COLUMN core.github_comments.path IS 'kind review: the file the comment is on.';
COMMENT ON COLUMN core.github_comments.in_reply_to_id IS 'kind review: the comment this one answers in a review thread.';
COMMENT ON COLUMN core.github_comments.updated_at IS 'Moves when the comment is edited (the issue or PR''s updated_at does not).';

COMMENT ON COLUMN core.github_pr_events.event_id IS 'The timeline item''s node_id (a commit''s for committed events).';
COMMENT ON COLUMN core.github_pr_events.actor IS 'GitHub login; NULL for committed events (a commit names a person, not a login); "ghost" for a deleted account.';
COMMENT ON COLUMN core.github_pr_events.created_at IS 'committed: the author date; reviewed: submitted_at; otherwise when the event happened.';

CREATE TABLE ops.http_cache (
    workspace_id VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,
    url          VARCHAR NOT NULL,
    etag         VARCHAR NOT NULL,
    link         VARCHAR,
    stored_at    TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops.http_cache IS 'Conditional-request cache: the ETag and Link header of the last 200 per request URL, written only after the rows of that answer, so a 304 to If-None-Match means the rows are stored already. Key: workspace_id, source, url. URLs never hold credentials.';
