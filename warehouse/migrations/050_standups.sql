-- Standups and weekly digests (issue 7): one row per generated report, with what posting needs to be
-- idempotent (a retried run updates its Slack message, never posts a second one).

CREATE TABLE marts.standups (
    workspace_id    VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,
    team            VARCHAR NOT NULL,
    report_date     DATE NOT NULL,
    markdown        VARCHAR NOT NULL,
    blocks_json     JSON NOT NULL,
    fallback_text   VARCHAR,
    team_name       VARCHAR,
    timezone        VARCHAR,
    window_start    TIMESTAMPTZ,
    window_end      TIMESTAMPTZ,
    quiet           BOOLEAN,
    generated_at    TIMESTAMPTZ NOT NULL,
    flow_run_id     VARCHAR,
    slack_channel   VARCHAR,
    post_started_at TIMESTAMPTZ,
    posted_at       TIMESTAMPTZ,
    slack_ts        VARCHAR,
    slack_updated_at TIMESTAMPTZ,
    post_count      INTEGER NOT NULL DEFAULT 0,
    update_count    INTEGER NOT NULL DEFAULT 0
);
COMMENT ON TABLE marts.standups IS 'Generated standups (kind daily) and weekly digests (kind weekly), per Linear team (team ''all'' when there is no Linear data). Key: workspace_id, kind, team, report_date. Regenerating a report replaces its content and keeps its Slack message.';
COMMENT ON COLUMN marts.standups.kind IS 'daily or weekly.';
COMMENT ON COLUMN marts.standups.team IS 'Linear team key (ENG), or all for a workspace-wide report.';
COMMENT ON COLUMN marts.standups.report_date IS 'The team-local date the report is for (weekly: the Friday of the week).';
COMMENT ON COLUMN marts.standups.markdown IS 'The report as Markdown (also the Prefect artifact standup-<team> / digest-<team>).';
COMMENT ON COLUMN marts.standups.blocks_json IS 'The report as Slack Block Kit blocks (at most 50 blocks, 3000 characters per text).';
COMMENT ON COLUMN marts.standups.window_start IS 'What the report covers: [window_start, window_end), UTC.';
COMMENT ON COLUMN marts.standups.quiet IS 'True when nothing moved in the window (a short "nothing moved" report).';
COMMENT ON COLUMN marts.standups.slack_channel IS 'The channel posted to (the id Slack answered with, else the configured name).';
COMMENT ON COLUMN marts.standups.post_started_at IS 'Set, and committed, just before chat.postMessage: a retry that finds it without slack_ts looks for the message in the channel before posting again.';
COMMENT ON COLUMN marts.standups.posted_at IS 'When chat.postMessage succeeded; NULL: not posted (dry run, no channel).';
COMMENT ON COLUMN marts.standups.slack_ts IS 'ts of the posted message; a later run for the same key updates it with chat.update.';
COMMENT ON COLUMN marts.standups.post_count IS 'chat.postMessage calls that succeeded for this key (1 once posted: never more).';
COMMENT ON COLUMN marts.standups.update_count IS 'chat.update calls that succeeded for this key.';
