-- Names of the workspace's Slack users and channels, to show chat text as people read it
-- (<@U123> -> @name, <#C123> -> #channel).
SELECT 'user' AS kind, user_id AS id, coalesce(nullif(display_name, ''), nullif(real_name, ''), name, user_id) AS name
FROM core.slack_users WHERE workspace_id = $workspace_id
UNION ALL
SELECT 'channel', channel_id, coalesce(name, channel_id) FROM core.slack_channels WHERE workspace_id = $workspace_id
