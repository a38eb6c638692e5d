"""AI cost tracking: pricing (genai-prices + overrides), usage rows, budgets, forecasts, alerts.

No Prefect here: tasks/costs.py wraps these functions, flows/costs.py orchestrates them.
"""
