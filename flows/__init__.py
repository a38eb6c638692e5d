"""Prefect flows, one module per flow. Flows only orchestrate: no SQL, no HTTP."""
