-- A unit is now also re-decided when the ticket or pull request it cites arrives after it was
-- decided (pmflow/matching/units.py: units_citing_something); the table's comment says so.
COMMENT ON TABLE marts.ticket_links IS 'One decision per unit (a Slack thread or standalone message, a GitHub PR or issue) linking it to a Linear ticket, or classifying it as new work or not work. Key: workspace_id, source_kind, source_id. Written by the match-tickets flow; a unit is re-decided when its text changes, or when a ticket or pull request it cites arrives after it was decided.';
