-- Linear ingestion (issue 3): the state ids of each state change, beside their names and types, so
-- a history row still joins core.linear_states after a state is renamed.
ALTER TABLE core.linear_issue_history ADD COLUMN from_state_id VARCHAR;
ALTER TABLE core.linear_issue_history ADD COLUMN to_state_id VARCHAR;
COMMENT ON COLUMN core.linear_issue_history.from_state_id IS 'state_id the ticket left (NULL for the creation entry); from_state and from_state_type are that state''s name and type as Linear served them.';
COMMENT ON COLUMN core.linear_issue_history.to_state_id IS 'state_id the ticket entered.';
COMMENT ON COLUMN core.linear_issue_history.actor_id IS 'user_id who made the change (NULL for automations and integrations).';
COMMENT ON COLUMN core.linear_issues.label_ids IS 'label_ids of the ticket, in Linear''s order.';
COMMENT ON COLUMN core.linear_comments.edited_at IS 'When the body was last edited (NULL: never).';
