-- Data quality: the result of every check of every validation (warehouse/quality). Rows that fail a
-- check stay in core and a copy goes to ops.quarantine (source 'quality', stream the table name).

CREATE TABLE ops.quality_results (
    validation_id    VARCHAR NOT NULL,
    run_id           VARCHAR,
    workspace_id     VARCHAR,
    table_name       VARCHAR NOT NULL,
    check_name       VARCHAR NOT NULL,
    expectation      VARCHAR NOT NULL,
    columns          VARCHAR,
    success          BOOLEAN NOT NULL,
    element_count    BIGINT,
    unexpected_count BIGINT,
    quarantined      BIGINT NOT NULL,
    details          VARCHAR,
    validated_at     TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops.quality_results IS 'One row per data-quality check per validation (great-expectations suites of warehouse/quality). A failed check is a warning: the rows stay in core, copies go to ops.quarantine with source ''quality''.';
COMMENT ON COLUMN ops.quality_results.validation_id IS 'Groups the checks of one validation (one table, one call).';
COMMENT ON COLUMN ops.quality_results.run_id IS 'The Prefect flow run that validated, when run in one.';
COMMENT ON COLUMN ops.quality_results.workspace_id IS 'The workspace validated; NULL when every workspace of the table was.';
COMMENT ON COLUMN ops.quality_results.check_name IS 'Stable name of the check, e.g. key_unique, not_null:ts, timestamp_sane:posted_at, known_values:state_type, non_negative:cost_usd, reference:channel_id.';
COMMENT ON COLUMN ops.quality_results.expectation IS 'The great-expectations expectation type, e.g. expect_column_values_to_not_be_null.';
COMMENT ON COLUMN ops.quality_results.unexpected_count IS 'Rows failing the check (exact).';
COMMENT ON COLUMN ops.quality_results.quarantined IS 'Offending rows copied to ops.quarantine by this validation (capped; already quarantined copies are not counted again).';
COMMENT ON COLUMN ops.quality_results.details IS 'A short explanation: a sample of unexpected values, or the error if the check could not run.';
