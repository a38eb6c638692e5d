-- Journey analytics (issue 5): the stage model as data, the fixed "as of" time of a build, richer agent
-- events, and (only if no earlier migration made it) the public marts.ticket_links table that the
-- journey models read for touchpoints and open PRs.

-- The DESIGN.md contract of marts.ticket_links. Ticket matching owns the table and its documentation
-- (migration 020 creates it the same way); it is created here only if absent, so that the journey
-- models can read it whichever migration runs first.
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

-- The stage model, written from pmflow/journeys/stages.yaml (+ PMFLOW_JOURNEY_STAGES) before each build.
CREATE TABLE ops.journey_scopes (
    scope_workspace  VARCHAR NOT NULL,
    scope_team       VARCHAR NOT NULL,
    timezone         VARCHAR,
    default_timezone VARCHAR NOT NULL,
    open_pr_stage    VARCHAR,
    config_source    VARCHAR NOT NULL
);
COMMENT ON TABLE ops.journey_scopes IS 'One row per scope of the journey stage model: scope_workspace / scope_team are a workspace id / team key, or * for all. A ticket uses its most specific scope.';
COMMENT ON COLUMN ops.journey_scopes.timezone IS 'Timezone set for the team in the config; wins over core.linear_teams.timezone. NULL when the config sets none for the team.';
COMMENT ON COLUMN ops.journey_scopes.default_timezone IS 'Timezone when neither the team config nor Linear gives one.';

CREATE TABLE ops.journey_stages (
    scope_workspace VARCHAR NOT NULL,
    scope_team      VARCHAR NOT NULL,
    stage           VARCHAR NOT NULL,
    stage_order     INTEGER NOT NULL,
    starts_cycle    BOOLEAN NOT NULL,
    is_done         BOOLEAN NOT NULL,
    is_closed       BOOLEAN NOT NULL,
    lifted_to       VARCHAR
);
COMMENT ON TABLE ops.journey_stages IS 'The ordered journey stages of each scope. is_done: completion; is_closed: left without completion; starts_cycle: cycle time starts at the first entry into this or a later open stage.';
COMMENT ON COLUMN ops.journey_stages.lifted_to IS 'While a linked PR is open, a ticket in this stage counts as in lifted_to (e.g. Execution -> Validation); NULL: no lift.';

CREATE TABLE ops.journey_stage_rules (
    scope_workspace VARCHAR NOT NULL,
    scope_team      VARCHAR NOT NULL,
    rule_order      INTEGER NOT NULL,
    state_type      VARCHAR,
    name_glob       VARCHAR,
    name_regex      VARCHAR,
    stage           VARCHAR NOT NULL
);
COMMENT ON TABLE ops.journey_stage_rules IS 'Linear workflow state -> journey stage rules of each scope; the first matching rule (lowest rule_order) wins. state_type archived is the pseudo-state at a ticket''s archived_at.';

CREATE TABLE ops.journey_params (
    as_of                 TIMESTAMPTZ NOT NULL,
    funnel_window_days    INTEGER NOT NULL,
    flow_days             INTEGER NOT NULL,
    at_risk_min_visits    INTEGER NOT NULL,
    written_at            TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops.journey_params IS 'One row: the parameters of the latest journey build. as_of is the instant the journey marts describe (open visits end there), so a rebuild with the same as_of gives the same marts.';

-- Agent events in OpenTelemetry GenAI style carry more than the DESIGN columns.
ALTER TABLE core.agent_events ADD COLUMN IF NOT EXISTS operation VARCHAR;
ALTER TABLE core.agent_events ADD COLUMN IF NOT EXISTS outcome VARCHAR;
ALTER TABLE core.agent_events ADD COLUMN IF NOT EXISTS started_at TIMESTAMPTZ;
ALTER TABLE core.agent_events ADD COLUMN IF NOT EXISTS trace_id VARCHAR;
ALTER TABLE core.agent_events ADD COLUMN IF NOT EXISTS span_id VARCHAR;
ALTER TABLE core.agent_events ADD COLUMN IF NOT EXISTS parent_span_id VARCHAR;
COMMENT ON COLUMN core.agent_events.kind IS 'pmflow.event_kind: task, decision, escalation or handoff; call for a plain model/tool call (gen_ai.operation.name only).';
COMMENT ON COLUMN core.agent_events.occurred_at IS 'When the event ended (span end time, or its timestamp).';
COMMENT ON COLUMN core.agent_events.started_at IS 'Span start time when known; NULL for point events.';
COMMENT ON COLUMN core.agent_events.operation IS 'gen_ai.operation.name (invoke_agent, chat, execute_tool, ...).';
COMMENT ON COLUMN core.agent_events.outcome IS 'pmflow.outcome, lower case (success, failure, ...); failure when the span status is ERROR and no outcome is given.';
COMMENT ON COLUMN core.agent_events.ticket_id IS 'pmflow.ticket as given: a Linear issue id or identifier (ENG-123).';
