-- Linear, GitHub and AI usage: the public core tables of DESIGN.md (columns may be added by later
-- migrations, none renamed or removed). Raw tables keep every distinct payload version received.

CREATE TABLE raw.linear_teams     (workspace_id VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, record_key VARCHAR NOT NULL, payload JSON NOT NULL, payload_hash VARCHAR NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);
CREATE TABLE raw.linear_states    (workspace_id VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, record_key VARCHAR NOT NULL, payload JSON NOT NULL, payload_hash VARCHAR NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);
CREATE TABLE raw.linear_users     (workspace_id VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, record_key VARCHAR NOT NULL, payload JSON NOT NULL, payload_hash VARCHAR NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);
CREATE TABLE raw.linear_projects  (workspace_id VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, record_key VARCHAR NOT NULL, payload JSON NOT NULL, payload_hash VARCHAR NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);
CREATE TABLE raw.linear_cycles    (workspace_id VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, record_key VARCHAR NOT NULL, payload JSON NOT NULL, payload_hash VARCHAR NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);
CREATE TABLE raw.linear_labels    (workspace_id VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, record_key VARCHAR NOT NULL, payload JSON NOT NULL, payload_hash VARCHAR NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);
CREATE TABLE raw.linear_issues    (workspace_id VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, record_key VARCHAR NOT NULL, payload JSON NOT NULL, payload_hash VARCHAR NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);
CREATE TABLE raw.linear_history   (workspace_id VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, record_key VARCHAR NOT NULL, payload JSON NOT NULL, payload_hash VARCHAR NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);
CREATE TABLE raw.linear_comments  (workspace_id VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, record_key VARCHAR NOT NULL, payload JSON NOT NULL, payload_hash VARCHAR NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);
CREATE TABLE raw.github_pulls     (workspace_id VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, record_key VARCHAR NOT NULL, payload JSON NOT NULL, payload_hash VARCHAR NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);
CREATE TABLE raw.github_issues    (workspace_id VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, record_key VARCHAR NOT NULL, payload JSON NOT NULL, payload_hash VARCHAR NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);
CREATE TABLE raw.github_reviews   (workspace_id VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, record_key VARCHAR NOT NULL, payload JSON NOT NULL, payload_hash VARCHAR NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);
CREATE TABLE raw.github_comments  (workspace_id VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, record_key VARCHAR NOT NULL, payload JSON NOT NULL, payload_hash VARCHAR NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);
CREATE TABLE raw.github_events    (workspace_id VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, record_key VARCHAR NOT NULL, payload JSON NOT NULL, payload_hash VARCHAR NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);
CREATE TABLE raw.openai_usage     (workspace_id VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, record_key VARCHAR NOT NULL, payload JSON NOT NULL, payload_hash VARCHAR NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);
CREATE TABLE raw.openai_costs     (workspace_id VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, record_key VARCHAR NOT NULL, payload JSON NOT NULL, payload_hash VARCHAR NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);
CREATE TABLE raw.agent_events     (workspace_id VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, record_key VARCHAR NOT NULL, payload JSON NOT NULL, payload_hash VARCHAR NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);

CREATE TABLE core.linear_teams (workspace_id VARCHAR NOT NULL, team_id VARCHAR NOT NULL, key VARCHAR, name VARCHAR, timezone VARCHAR);
COMMENT ON TABLE core.linear_teams IS 'Linear teams. Key: workspace_id, team_id.';
CREATE TABLE core.linear_states (workspace_id VARCHAR NOT NULL, state_id VARCHAR NOT NULL, team_id VARCHAR, name VARCHAR, type VARCHAR, position DOUBLE);
COMMENT ON TABLE core.linear_states IS 'Linear workflow states; type is one of triage, backlog, unstarted, started, completed, canceled. Key: workspace_id, state_id.';
CREATE TABLE core.linear_users (workspace_id VARCHAR NOT NULL, user_id VARCHAR NOT NULL, name VARCHAR, display_name VARCHAR, email VARCHAR, is_active BOOLEAN);
COMMENT ON TABLE core.linear_users IS 'Linear users. Key: workspace_id, user_id.';
CREATE TABLE core.linear_projects (workspace_id VARCHAR NOT NULL, project_id VARCHAR NOT NULL, name VARCHAR, state VARCHAR, started_at TIMESTAMPTZ, target_date DATE, completed_at TIMESTAMPTZ);
COMMENT ON TABLE core.linear_projects IS 'Linear projects. Key: workspace_id, project_id.';
CREATE TABLE core.linear_cycles (workspace_id VARCHAR NOT NULL, cycle_id VARCHAR NOT NULL, team_id VARCHAR, number INTEGER, starts_at TIMESTAMPTZ, ends_at TIMESTAMPTZ);
COMMENT ON TABLE core.linear_cycles IS 'Linear cycles (sprints). Key: workspace_id, cycle_id.';
CREATE TABLE core.linear_labels (workspace_id VARCHAR NOT NULL, label_id VARCHAR NOT NULL, name VARCHAR, team_id VARCHAR);
COMMENT ON TABLE core.linear_labels IS 'Linear issue labels. Key: workspace_id, label_id.';

CREATE TABLE core.linear_issues (
    workspace_id VARCHAR NOT NULL,
    issue_id     VARCHAR NOT NULL,
    identifier   VARCHAR NOT NULL,
    title        VARCHAR,
    description  VARCHAR,
    state_id     VARCHAR,
    state_name   VARCHAR,
    state_type   VARCHAR,
    team_id      VARCHAR,
    team_key     VARCHAR,
    project_id   VARCHAR,
    cycle_id     VARCHAR,
    parent_id    VARCHAR,
    assignee_id  VARCHAR,
    creator_id   VARCHAR,
    priority     INTEGER,
    estimate     DOUBLE,
    label_ids    VARCHAR[],
    url          VARCHAR,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    started_at   TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    canceled_at  TIMESTAMPTZ,
    archived_at  TIMESTAMPTZ
);
COMMENT ON TABLE core.linear_issues IS 'Linear tickets, archived ones included. Key: workspace_id, issue_id; identifier (e.g. ENG-123) is unique per workspace.';
COMMENT ON COLUMN core.linear_issues.state_type IS 'Linear state type: triage, backlog, unstarted, started, completed or canceled.';
COMMENT ON COLUMN core.linear_issues.parent_id IS 'issue_id of the parent ticket for a sub-issue.';
COMMENT ON COLUMN core.linear_issues.priority IS 'Linear priority: 0 none, 1 urgent, 2 high, 3 medium, 4 low.';

CREATE TABLE core.linear_issue_history (
    workspace_id    VARCHAR NOT NULL,
    history_id      VARCHAR NOT NULL,
    issue_id        VARCHAR NOT NULL,
    from_state      VARCHAR,
    to_state        VARCHAR,
    from_state_type VARCHAR,
    to_state_type   VARCHAR,
    changed_at      TIMESTAMPTZ NOT NULL,
    actor_id        VARCHAR
);
COMMENT ON TABLE core.linear_issue_history IS 'Every state change of a ticket (forward, back, reopen, cancel). Key: workspace_id, history_id. from_state is NULL for the creation entry.';

CREATE TABLE core.linear_comments (workspace_id VARCHAR NOT NULL, comment_id VARCHAR NOT NULL, issue_id VARCHAR NOT NULL, user_id VARCHAR, body VARCHAR, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ, edited_at TIMESTAMPTZ);
COMMENT ON TABLE core.linear_comments IS 'Comments on Linear tickets. Key: workspace_id, comment_id.';

CREATE TABLE core.github_pull_requests (
    workspace_id VARCHAR NOT NULL,
    repo         VARCHAR NOT NULL,
    number       INTEGER NOT NULL,
    title        VARCHAR,
    body         VARCHAR,
    state        VARCHAR,
    author       VARCHAR,
    head_ref     VARCHAR,
    base_ref     VARCHAR,
    draft        BOOLEAN,
    url          VARCHAR,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    merged_at    TIMESTAMPTZ,
    closed_at    TIMESTAMPTZ,
    first_commit_at TIMESTAMPTZ
);
COMMENT ON TABLE core.github_pull_requests IS 'GitHub pull requests. Key: workspace_id, repo, number. state is open or closed; merged_at set when merged.';
COMMENT ON COLUMN core.github_pull_requests.repo IS 'owner/name';
COMMENT ON COLUMN core.github_pull_requests.head_ref IS 'Source branch; often carries a ticket identifier (eng-123-fix-login).';

CREATE TABLE core.github_issues (workspace_id VARCHAR NOT NULL, repo VARCHAR NOT NULL, number INTEGER NOT NULL, title VARCHAR, body VARCHAR, state VARCHAR, author VARCHAR, url VARCHAR, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL, closed_at TIMESTAMPTZ);
COMMENT ON TABLE core.github_issues IS 'GitHub issues that are not pull requests. Key: workspace_id, repo, number.';
CREATE TABLE core.github_reviews (workspace_id VARCHAR NOT NULL, repo VARCHAR NOT NULL, pr_number INTEGER NOT NULL, review_id BIGINT NOT NULL, author VARCHAR, state VARCHAR, body VARCHAR, submitted_at TIMESTAMPTZ);
COMMENT ON TABLE core.github_reviews IS 'Pull request reviews (APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED). Key: workspace_id, repo, review_id.';
CREATE TABLE core.github_comments (workspace_id VARCHAR NOT NULL, repo VARCHAR NOT NULL, number INTEGER NOT NULL, comment_id BIGINT NOT NULL, kind VARCHAR NOT NULL, author VARCHAR, body VARCHAR, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ);
COMMENT ON TABLE core.github_comments IS 'Issue, PR and review comments; kind is issue or review. Key: workspace_id, repo, kind, comment_id.';
CREATE TABLE core.github_pr_events (workspace_id VARCHAR NOT NULL, repo VARCHAR NOT NULL, number INTEGER NOT NULL, event_id VARCHAR NOT NULL, event VARCHAR, actor VARCHAR, created_at TIMESTAMPTZ);
COMMENT ON TABLE core.github_pr_events IS 'Timeline events of changed PRs (committed, reopened, closed, merged, review_requested...). Key: workspace_id, repo, number, event_id.';

CREATE TABLE core.llm_usage (
    workspace_id  VARCHAR NOT NULL,
    usage_id      VARCHAR NOT NULL,
    occurred_at   TIMESTAMPTZ NOT NULL,
    source        VARCHAR NOT NULL,
    provider      VARCHAR,
    model         VARCHAR,
    input_tokens  BIGINT,
    output_tokens BIGINT,
    cached_tokens BIGINT,
    requests      BIGINT,
    cost_usd      DOUBLE,
    price_status  VARCHAR,
    project       VARCHAR,
    ticket_id     VARCHAR,
    agent         VARCHAR,
    flow_run_id   VARCHAR
);
COMMENT ON TABLE core.llm_usage IS 'Model calls and usage buckets. source: pipeline (pmflow''s own calls), openai_usage (organization Usage API buckets), agent_trace. Key: workspace_id, usage_id.';
COMMENT ON COLUMN core.llm_usage.cost_usd IS 'Priced from the dated catalogue (and overrides); NULL when the model is unknown, never a silent 0.';
COMMENT ON COLUMN core.llm_usage.price_status IS 'priced, override, or unknown_model.';

CREATE TABLE core.agent_events (workspace_id VARCHAR NOT NULL, event_id VARCHAR NOT NULL, occurred_at TIMESTAMPTZ NOT NULL, agent VARCHAR, kind VARCHAR, ticket_id VARCHAR, project VARCHAR, model VARCHAR, input_tokens BIGINT, output_tokens BIGINT, payload JSON);
COMMENT ON TABLE core.agent_events IS 'AI agent events (task, decision, escalation, handoff), OpenTelemetry GenAI style. Key: workspace_id, event_id.';
