-- The parameters of the current journey build (one row, from ops.journey_params): as_of is the
-- instant the journey marts describe; open visits end there and later events are ignored.
SELECT as_of, funnel_window_days, flow_days, at_risk_min_visits
FROM ops.journey_params
