"""pmflow: Slack, Linear, GitHub and AI usage in one DuckDB warehouse, on Prefect."""
