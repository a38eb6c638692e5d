-- Workspaces with work signals (tickets, pull requests or Slack messages), for the reports to cover.
SELECT DISTINCT workspace_id FROM (
    SELECT workspace_id FROM core.linear_issues
    UNION ALL SELECT workspace_id FROM core.github_pull_requests
    UNION ALL SELECT workspace_id FROM core.slack_messages
)
ORDER BY workspace_id
