"""Prefect tasks, grouped by concern: thin wrappers around connectors/ and warehouse/."""
