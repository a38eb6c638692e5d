-- The tickets ticket matching has already ranked a workspace's units against. A ticket not in it
-- is new to matching: the recent units retrieval decided before it existed are decided again (a
-- conversation often comes before its ticket is filed).
CREATE TABLE ops.match_seen_tickets (
    workspace_id VARCHAR NOT NULL,
    identifier VARCHAR NOT NULL,
    seen_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace_id, identifier)
);
COMMENT ON TABLE ops.match_seen_tickets IS 'Tickets (identifier) that ticket matching has ranked the units of workspace_id (the Slack/GitHub workspace) against; written with the decisions of the run that first saw them.';
