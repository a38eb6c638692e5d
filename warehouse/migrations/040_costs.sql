-- AI cost tracking (issue 6): usage attributes for pricing, the applied price table, billed costs
-- from the OpenAI Costs API, budget configuration and the sent-alert ledger.

ALTER TABLE core.llm_usage ADD COLUMN usage_day DATE;
ALTER TABLE core.llm_usage ADD COLUMN batch BOOLEAN;
ALTER TABLE core.llm_usage ADD COLUMN endpoint VARCHAR;
ALTER TABLE core.llm_usage ADD COLUMN flow_name VARCHAR;
COMMENT ON COLUMN core.llm_usage.usage_day IS 'UTC day of occurred_at: the day whose price applies.';
COMMENT ON COLUMN core.llm_usage.batch IS 'True for Batch API calls (billed at the batch rate).';
COMMENT ON COLUMN core.llm_usage.endpoint IS 'completions, embeddings, moderations (org usage buckets) or chat.completions, responses, ... (single calls).';
COMMENT ON COLUMN core.llm_usage.flow_name IS 'Name of the pmflow flow that made the call (source pipeline).';
COMMENT ON COLUMN core.llm_usage.input_tokens IS 'Input tokens including cached_tokens (OpenAI and OpenTelemetry convention).';
COMMENT ON COLUMN core.llm_usage.cached_tokens IS 'Input tokens served from the prompt cache (billed at the cached-input rate); part of input_tokens.';
COMMENT ON COLUMN core.llm_usage.requests IS 'Model requests the row stands for: 1 for a call, num_model_requests for a usage bucket.';
COMMENT ON COLUMN core.llm_usage.ticket_id IS 'Linear ticket identifier (e.g. ENG-123) or issue id, when known.';

CREATE TABLE core.llm_price_rates (
    workspace_id          VARCHAR NOT NULL,
    provider              VARCHAR,
    model                 VARCHAR,
    usage_day             DATE NOT NULL,
    batch                 BOOLEAN NOT NULL,
    price_status          VARCHAR NOT NULL,
    rate_source           VARCHAR NOT NULL,
    priced_provider       VARCHAR,
    catalogue_model       VARCHAR,
    input_per_mtok        DOUBLE,
    cached_input_per_mtok DOUBLE,
    output_per_mtok       DOUBLE,
    tier1_start           BIGINT,
    tier1_input           DOUBLE,
    tier1_cached          DOUBLE,
    tier1_output          DOUBLE,
    tier2_start           BIGINT,
    tier2_input           DOUBLE,
    tier2_cached          DOUBLE,
    tier2_output          DOUBLE,
    priced_at             TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE core.llm_price_rates IS 'The rate applied to each distinct (workspace, provider, model, day, batch) of core.llm_usage, USD per million tokens, from genai-prices or an override. Rebuilt by every costs run. Key: workspace_id, provider, model, usage_day, batch.';
COMMENT ON COLUMN core.llm_price_rates.price_status IS 'priced (catalogue), override (negotiated price file), unknown_model (cost NULL), no_token_price (model not priced per token; cost NULL).';
COMMENT ON COLUMN core.llm_price_rates.rate_source IS 'Where the rate came from: catalogue version and model id, or the override entry.';
COMMENT ON COLUMN core.llm_price_rates.tier1_start IS 'Long-context tier: a single call with more input tokens than this is billed entirely at the tier1 rates (buckets are not tiered).';

CREATE TABLE core.openai_costs (
    workspace_id VARCHAR NOT NULL,
    cost_id      VARCHAR NOT NULL,
    usage_day    DATE NOT NULL,
    bucket_start TIMESTAMPTZ NOT NULL,
    bucket_end   TIMESTAMPTZ NOT NULL,
    project_id   VARCHAR,
    line_item    VARCHAR,
    amount       DOUBLE NOT NULL,
    currency     VARCHAR NOT NULL
);
COMMENT ON TABLE core.openai_costs IS 'What OpenAI bills, from the organization Costs API: one row per day, project and line item. Key: workspace_id, cost_id.';
COMMENT ON COLUMN core.openai_costs.amount IS 'Billed amount in currency (usd).';

CREATE TABLE ops.cost_budgets (
    workspace_id    VARCHAR NOT NULL,
    budget          VARCHAR NOT NULL,
    project_pattern VARCHAR,
    model_pattern   VARCHAR,
    limit_usd       DOUBLE NOT NULL,
    soft_threshold  DOUBLE NOT NULL,
    hard_threshold  DOUBLE NOT NULL,
    channel         VARCHAR,
    loaded_at       TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops.cost_budgets IS 'Monthly budgets as configured in PMFLOW_BUDGETS (replaced by every costs run; the file is the truth). Key: workspace_id, budget.';
COMMENT ON COLUMN ops.cost_budgets.project_pattern IS 'SQL LIKE pattern (escape character backslash) on core.llm_usage.project, from the glob in the budget file; NULL for every project.';
COMMENT ON COLUMN ops.cost_budgets.model_pattern IS 'SQL LIKE pattern (escape character backslash) on core.llm_usage.model; NULL for every model.';

CREATE TABLE ops.cost_settings (
    workspace_id    VARCHAR NOT NULL,
    as_of           DATE NOT NULL,
    drift_threshold DOUBLE NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops.cost_settings IS 'Parameters the cost marts read: the day budgets are evaluated at and the reconciliation drift threshold. Key: workspace_id.';

CREATE TABLE ops.cost_alerts (
    workspace_id VARCHAR NOT NULL,
    budget       VARCHAR NOT NULL,
    period       VARCHAR NOT NULL,
    threshold    VARCHAR NOT NULL,
    status       VARCHAR NOT NULL,
    trigger      VARCHAR,
    spent_usd    DOUBLE,
    forecast_usd DOUBLE,
    limit_usd    DOUBLE,
    channel      VARCHAR,
    slack_ts     VARCHAR,
    message      VARCHAR,
    run_id       VARCHAR,
    claimed_at   TIMESTAMPTZ NOT NULL,
    sent_at      TIMESTAMPTZ
);
COMMENT ON TABLE ops.cost_alerts IS 'Budget alerts, at most one per (workspace_id, budget, period, threshold): claimed before posting, so a retry never posts twice.';
COMMENT ON COLUMN ops.cost_alerts.status IS 'sending (claimed; if it stays so, the post outcome is unknown and it is not retried), sent.';
COMMENT ON COLUMN ops.cost_alerts.trigger IS 'actual (month-to-date spend crossed the threshold) or forecast (the end-of-month forecast did).';
