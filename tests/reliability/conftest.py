"""Every reliability test runs against the session's Prefect test server (see tests/conftest.py)."""
import pytest


@pytest.fixture(autouse=True)
def _prefect_server(prefect_api_url):
    return prefect_api_url
