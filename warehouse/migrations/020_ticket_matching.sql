-- Ticket matching (issue 4): the public marts.ticket_links table (created here, or by 030 when that
-- ran first: both use CREATE TABLE IF NOT EXISTS with the same contract columns), the columns
-- matching adds to it, and the matcher's bookkeeping in ops: unit fingerprints (change detection),
-- the embedding cache (by text hash) and the write-back ledger (idempotency keys).

CREATE TABLE IF NOT EXISTS marts.ticket_links (
    workspace_id VARCHAR NOT NULL,
    source_kind  VARCHAR NOT NULL,
    source_id    VARCHAR NOT NULL,
    ticket_id    VARCHAR,
    decision     VARCHAR NOT NULL,
    method       VARCHAR,
    score        DOUBLE,
    reason       VARCHAR,
    decided_at   TIMESTAMPTZ
);
ALTER TABLE marts.ticket_links ADD COLUMN IF NOT EXISTS issue_id VARCHAR;
ALTER TABLE marts.ticket_links ADD COLUMN IF NOT EXISTS candidates JSON;
ALTER TABLE marts.ticket_links ADD COLUMN IF NOT EXISTS source_at TIMESTAMPTZ;
ALTER TABLE marts.ticket_links ADD COLUMN IF NOT EXISTS source_url VARCHAR;
ALTER TABLE marts.ticket_links ADD COLUMN IF NOT EXISTS preview VARCHAR;
ALTER TABLE marts.ticket_links ADD COLUMN IF NOT EXISTS fingerprint VARCHAR;
ALTER TABLE marts.ticket_links ADD COLUMN IF NOT EXISTS flow_run_id VARCHAR;

COMMENT ON TABLE marts.ticket_links IS 'One decision per unit (a Slack thread or standalone message, a GitHub PR or issue) linking it to a Linear ticket, or classifying it as new work or not work. Key: workspace_id, source_kind, source_id. Written by the match-tickets flow; a unit is re-decided only when its text changes.';
COMMENT ON COLUMN marts.ticket_links.source_kind IS 'slack_thread (a message with replies), slack_message (a standalone message), github_pr or github_issue.';
COMMENT ON COLUMN marts.ticket_links.source_id IS 'slack: <channel_id>:<ts of the top-level message>; github: <owner/name>#<number>.';
COMMENT ON COLUMN marts.ticket_links.ticket_id IS 'Linear identifier (e.g. ENG-123) of the linked or suggested ticket; NULL for new_work and not_work.';
COMMENT ON COLUMN marts.ticket_links.decision IS 'linked (confident), suggested (a candidate for a person to confirm), new_work (work with no ticket), not_work (chit-chat, greetings, bots).';
COMMENT ON COLUMN marts.ticket_links.method IS 'reference (an explicit identifier, Linear URL or branch name), bm25 (local lexical and semantic retrieval), fused (local plus OpenAI embeddings), embedding, llm (adjudicated by a model), rules (the not-work classifier).';
COMMENT ON COLUMN marts.ticket_links.score IS 'Calibrated confidence in [0, 1]: 1 for explicit references; otherwise the retrieval score of the best candidate.';
COMMENT ON COLUMN marts.ticket_links.reason IS 'Why: the reference found, the scores and margin, the classifier rule, or the model''s stated reason.';
COMMENT ON COLUMN marts.ticket_links.issue_id IS 'core.linear_issues.issue_id of ticket_id.';
COMMENT ON COLUMN marts.ticket_links.candidates IS 'Top retrieval candidates: [{"ticket_id": ..., "score": ...}], best first.';
COMMENT ON COLUMN marts.ticket_links.source_at IS 'When the unit started (the top-level message, or the PR/issue creation).';
COMMENT ON COLUMN marts.ticket_links.preview IS 'The first 200 characters of the unit''s opening text.';
COMMENT ON COLUMN marts.ticket_links.fingerprint IS 'md5 of the unit text the decision was made on.';

CREATE TABLE ops.match_fingerprints (
    workspace_id VARCHAR NOT NULL,
    source_kind  VARCHAR NOT NULL,
    source_id    VARCHAR NOT NULL,
    fingerprint  VARCHAR NOT NULL,
    decided_at   TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops.match_fingerprints IS 'The text fingerprint each unit was last decided on; a unit whose fingerprint is unchanged is not processed again. Key: workspace_id, source_kind, source_id.';

CREATE TABLE ops.embedding_cache (
    workspace_id VARCHAR NOT NULL,
    model        VARCHAR NOT NULL,
    text_hash    VARCHAR NOT NULL,
    dimensions   INTEGER NOT NULL,
    embedding    FLOAT[] NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops.embedding_cache IS 'Embeddings by (model, sha256 of the embedded text): unchanged text is never embedded twice. No text is stored. Key: workspace_id, model, text_hash.';

CREATE TABLE ops.match_actions (
    workspace_id    VARCHAR NOT NULL,
    idempotency_key VARCHAR NOT NULL,
    action          VARCHAR NOT NULL,
    source_kind     VARCHAR NOT NULL,
    source_id       VARCHAR NOT NULL,
    ticket_id       VARCHAR,
    status          VARCHAR NOT NULL,
    detail          JSON,
    result_id       VARCHAR,
    error           VARCHAR,
    attempts        INTEGER NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops.match_actions IS 'Write-back ledger: one row per (unit, action), claimed BEFORE the external call, so no action is ever made twice. Key: workspace_id, idempotency_key.';
COMMENT ON COLUMN ops.match_actions.action IS 'comment (link the thread on its Linear ticket), triage_ticket (create a triage ticket for new work), suggest_state (a recorded suggestion that a ticket is done or blocked; never applied automatically).';
COMMENT ON COLUMN ops.match_actions.status IS 'planned (dry run), pending (claimed, call in flight or interrupted: never retried automatically), done, failed (the service refused; not retried), suggested (suggest_state).';
COMMENT ON COLUMN ops.match_actions.result_id IS 'Id of what the service created (comment id, issue identifier).';
