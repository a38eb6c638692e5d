-- A unit is now also re-decided when the ticket or pull request it cites arrives after it was
-- decided, or when a ticket is filed soon after retrieval decided it
-- (pmflow/matching/units.py: units_citing_something, units_to_recheck); the table's comment says so.
COMMENT ON TABLE marts.ticket_links IS 'One decision per unit (a Slack thread or standalone message, a GitHub PR or issue) linking it to a Linear ticket, or classifying it as new work or not work. Key: workspace_id, source_kind, source_id. Written by the match-tickets flow; a unit is re-decided when its text changes, when a ticket or pull request it cites arrives after it was decided, and, if retrieval decided it, when a ticket is filed up to recheck_days after it started (its row is rewritten only if the decision changes).';
