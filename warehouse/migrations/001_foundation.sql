-- Foundation: schemas, pipeline bookkeeping (ops), and the Slack tables.
-- Natural keys are listed in warehouse/tables.py; they are enforced by the bulk merge and the
-- data-quality suites rather than PRIMARY KEY indexes (an ART index makes bulk updates ~30x slower).

CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS ops;

CREATE TABLE ops.sync_state (
    workspace_id  VARCHAR NOT NULL,
    source        VARCHAR NOT NULL,
    stream        VARCHAR NOT NULL,
    partition_key VARCHAR NOT NULL,
    cursor        VARCHAR,
    updated_at    TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops.sync_state IS 'Incremental cursor per stream partition; advanced in the same transaction as the data it covers.';
COMMENT ON COLUMN ops.sync_state.partition_key IS 'The partition a cursor belongs to, e.g. a Slack channel id; empty string for unpartitioned streams.';
COMMENT ON COLUMN ops.sync_state.cursor IS 'Source-specific high-water mark (Slack: newest message ts seen; Linear/GitHub: updatedAt).';

CREATE TABLE ops.quarantine (
    workspace_id   VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,
    stream         VARCHAR NOT NULL,
    record_key     VARCHAR,
    payload        JSON,
    payload_hash   VARCHAR NOT NULL,
    reason         VARCHAR NOT NULL,
    run_id         VARCHAR,
    quarantined_at TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops.quarantine IS 'Records rejected by a parser or a data-quality check, with the reason; nothing is dropped silently.';
COMMENT ON COLUMN ops.quarantine.record_key IS 'The record''s natural key when it could be read, else NULL.';
COMMENT ON COLUMN ops.quarantine.payload_hash IS 'md5 of the payload; with source, stream and reason it makes re-quarantining idempotent.';

CREATE TABLE ops.load_log (
    run_id        VARCHAR,
    workspace_id  VARCHAR NOT NULL,
    source        VARCHAR NOT NULL,
    stream        VARCHAR NOT NULL,
    partition_key VARCHAR NOT NULL,
    records_read  BIGINT NOT NULL,
    inserted      BIGINT NOT NULL,
    updated       BIGINT NOT NULL,
    quarantined   BIGINT NOT NULL,
    loaded_at     TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops.load_log IS 'One row per committed batch: what was read, inserted, updated and quarantined.';

CREATE TABLE raw.slack_channels (workspace_id VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, record_key VARCHAR NOT NULL, payload JSON NOT NULL, payload_hash VARCHAR NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);
CREATE TABLE raw.slack_users    (workspace_id VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, record_key VARCHAR NOT NULL, payload JSON NOT NULL, payload_hash VARCHAR NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);
CREATE TABLE raw.slack_messages (workspace_id VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, record_key VARCHAR NOT NULL, payload JSON NOT NULL, payload_hash VARCHAR NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);
COMMENT ON TABLE raw.slack_channels IS 'Slack conversations.list objects as received; one row per distinct version of a record.';
COMMENT ON TABLE raw.slack_users IS 'Slack users.list members as received; one row per distinct version of a record.';
COMMENT ON TABLE raw.slack_messages IS 'Slack messages and thread replies as received; one row per distinct version (an edit adds a row).';

CREATE TABLE core.slack_channels (
    workspace_id VARCHAR NOT NULL,
    channel_id   VARCHAR NOT NULL,
    name         VARCHAR,
    is_private   BOOLEAN,
    is_archived  BOOLEAN,
    topic        VARCHAR,
    purpose      VARCHAR,
    created_at   TIMESTAMPTZ
);
COMMENT ON TABLE core.slack_channels IS 'Slack channels the token can read. Key: workspace_id, channel_id.';
COMMENT ON COLUMN core.slack_channels.workspace_id IS 'Slack team id (from auth.test); separates tenants sharing the warehouse.';

CREATE TABLE core.slack_users (
    workspace_id VARCHAR NOT NULL,
    user_id      VARCHAR NOT NULL,
    name         VARCHAR,
    real_name    VARCHAR,
    display_name VARCHAR,
    is_bot       BOOLEAN,
    is_deleted   BOOLEAN,
    tz           VARCHAR
);
COMMENT ON TABLE core.slack_users IS 'Slack users, bots and deactivated accounts included. Key: workspace_id, user_id.';
COMMENT ON COLUMN core.slack_users.is_deleted IS 'True for deactivated accounts; they stay so old messages keep their author.';

CREATE TABLE core.slack_messages (
    workspace_id VARCHAR NOT NULL,
    channel_id   VARCHAR NOT NULL,
    ts           VARCHAR NOT NULL,
    thread_ts    VARCHAR,
    user_id      VARCHAR,
    subtype      VARCHAR,
    text         VARCHAR,
    posted_at    TIMESTAMPTZ NOT NULL,
    edited_at    TIMESTAMPTZ,
    is_deleted   BOOLEAN NOT NULL,
    reply_count  INTEGER NOT NULL,
    latest_reply VARCHAR
);
COMMENT ON TABLE core.slack_messages IS 'Slack messages and thread replies. Key: workspace_id, channel_id, ts. Deleted messages are kept with is_deleted = true.';
COMMENT ON COLUMN core.slack_messages.ts IS 'Slack message timestamp string (seconds.micros), unique within a channel.';
COMMENT ON COLUMN core.slack_messages.thread_ts IS 'ts of the thread parent; equals ts on a parent that has replies; NULL for a message outside any thread.';
COMMENT ON COLUMN core.slack_messages.user_id IS 'Author user id; for bot messages without a user, the bot id.';
COMMENT ON COLUMN core.slack_messages.posted_at IS 'ts as a UTC timestamp.';
COMMENT ON COLUMN core.slack_messages.edited_at IS 'Time of the latest edit (edited.ts), NULL if never edited.';
COMMENT ON COLUMN core.slack_messages.is_deleted IS 'True once the message was deleted in Slack (a tombstone, or gone from a re-scanned window).';
COMMENT ON COLUMN core.slack_messages.reply_count IS 'Replies in the thread, as Slack reports on the parent; 0 for replies and plain messages.';
