-- One row per ticket: where it is in its journey as of staging.journey_params.as_of. `stages` maps
-- each stage visited to its figures (marts.ticket_stage_summary): stages['Execution'].cumulative_hours,
-- .latest_hours, .visits, and touchpoints .slack_threads, .pull_requests, .comments, .agent_events
-- (totals in the columns of those names). reopen_count: visits leaving a done/closed stage for an open
-- one. started_at: first entry into the team's starts_cycle stage or a later open stage. A ticket
-- is delivered when its current stage is the done stage: delivered_at is when it last entered it;
-- cycle_hours = delivered_at - started_at, lead_hours = delivered_at - created_at. at_risk: an open
-- ticket whose hours in its current stage exceed that stage's p80 for the team (marts.journey_stage_stats,
-- when it has at least at_risk_min_visits finished visits). completion_probability: 1 if delivered, 0
-- if closed; else, of the finished visits to the same stage in the same team, by tickets since
-- delivered or closed, that lasted at least as long as this one has so far, the share whose ticket
-- was delivered (completion_sample of them; NULL when none). Key: workspace_id, ticket_id.
WITH intervals AS (
    SELECT workspace_id, ticket_id, team_key, stage, stage_order, entered_at, hours_in_stage,
           is_current, is_reopen, is_started, is_done, is_closed
    FROM marts.ticket_stage_intervals
),
summary AS (
    SELECT workspace_id, ticket_id, stage, stage_order, visits, latest_hours, cumulative_hours,
           slack_threads, pull_requests, comments, agent_events
    FROM marts.ticket_stage_summary
),
stats AS (
    SELECT workspace_id, team_key, stage, finished_visits, p80_hours FROM marts.journey_stage_stats
),
issues AS (
    SELECT workspace_id, issue_id, identifier, title, created_at FROM core.linear_issues
),
params AS (
    SELECT as_of, at_risk_min_visits FROM staging.journey_params
),
current_visits AS (
    SELECT * FROM intervals WHERE is_current
),
per_ticket AS (
    SELECT
        workspace_id, ticket_id,
        count(*) AS visits,
        count(*) FILTER (WHERE is_reopen) AS reopen_count,
        min(entered_at) FILTER (WHERE is_started AND NOT is_done AND NOT is_closed) AS started_at
    FROM intervals
    GROUP BY workspace_id, ticket_id
),
per_stage AS (
    SELECT
        workspace_id, ticket_id,
        count(*) AS stages_visited,
        map(list(stage), list({
            'visits': visits, 'latest_hours': latest_hours, 'cumulative_hours': cumulative_hours,
            'slack_threads': slack_threads, 'pull_requests': pull_requests,
            'comments': comments, 'agent_events': agent_events})) AS stages,
        sum(slack_threads) AS slack_threads,
        sum(pull_requests) AS pull_requests,
        sum(comments) AS comments,
        sum(agent_events) AS agent_events
    FROM summary
    GROUP BY workspace_id, ticket_id
),
resolved AS (
    SELECT workspace_id, ticket_id, is_done AS delivered FROM current_visits WHERE is_done OR is_closed
),
survival AS (
    SELECT
        workspace_id, team_key, stage, hours,
        sum(n) OVER w AS visits_at_least,
        sum(delivered) OVER w AS delivered_at_least
    FROM (
        SELECT i.workspace_id, i.team_key, i.stage, i.hours_in_stage AS hours,
               count(*) AS n, count(*) FILTER (WHERE r.delivered) AS delivered
        FROM intervals AS i
        JOIN resolved AS r ON r.workspace_id = i.workspace_id AND r.ticket_id = i.ticket_id
        WHERE NOT i.is_current AND NOT i.is_done AND NOT i.is_closed
        GROUP BY ALL
    )
    WINDOW w AS (PARTITION BY workspace_id, team_key, stage ORDER BY hours DESC)
),
odds AS (
    SELECT c.workspace_id, c.ticket_id, s.visits_at_least, s.delivered_at_least
    FROM current_visits AS c
    ASOF JOIN survival AS s
        ON s.workspace_id = c.workspace_id AND s.team_key = c.team_key AND s.stage = c.stage
        AND c.hours_in_stage <= s.hours
    WHERE NOT c.is_done AND NOT c.is_closed
)
SELECT
    c.workspace_id,
    c.ticket_id,
    i.identifier,
    i.title,
    c.team_key,
    i.created_at,
    c.stage AS current_stage,
    c.stage_order AS current_stage_order,
    c.entered_at AS current_stage_entered_at,
    c.hours_in_stage AS hours_in_current_stage,
    t.visits,
    s.stages_visited,
    t.reopen_count,
    s.stages,
    s.slack_threads,
    s.pull_requests,
    s.comments,
    s.agent_events,
    t.started_at,
    CASE WHEN c.is_done THEN c.entered_at END AS delivered_at,
    CASE WHEN c.is_done THEN (epoch(c.entered_at) - epoch(t.started_at)) / 3600.0 END AS cycle_hours,
    CASE WHEN c.is_done THEN (epoch(c.entered_at) - epoch(i.created_at)) / 3600.0 END AS lead_hours,
    c.is_done,
    c.is_closed,
    st.p80_hours AS stage_p80_hours,
    coalesce(
        NOT c.is_done AND NOT c.is_closed AND st.finished_visits >= p.at_risk_min_visits
        AND c.hours_in_stage > st.p80_hours,
        false) AS at_risk,
    CASE
        WHEN c.is_done THEN 1.0
        WHEN c.is_closed THEN 0.0
        ELSE o.delivered_at_least / o.visits_at_least
    END AS completion_probability,
    o.visits_at_least AS completion_sample,
    p.as_of
FROM current_visits AS c
CROSS JOIN params AS p
JOIN per_ticket AS t ON t.workspace_id = c.workspace_id AND t.ticket_id = c.ticket_id
JOIN per_stage AS s ON s.workspace_id = c.workspace_id AND s.ticket_id = c.ticket_id
LEFT JOIN issues AS i ON i.workspace_id = c.workspace_id AND i.issue_id = c.ticket_id
LEFT JOIN stats AS st ON st.workspace_id = c.workspace_id AND st.team_key = c.team_key AND st.stage = c.stage
LEFT JOIN odds AS o ON o.workspace_id = c.workspace_id AND o.ticket_id = c.ticket_id
