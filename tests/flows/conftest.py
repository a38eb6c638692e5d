"""Flow tests run against one Prefect test server per session (~14 s to start), shared by all."""
from __future__ import annotations

import pytest
from prefect.settings import PREFECT_API_URL
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session", autouse=True)
def prefect_api_url():
    """The harness server's API URL; pass it to subprocesses so they report to the same server."""
    with prefect_test_harness(server_startup_timeout=90):
        yield PREFECT_API_URL.value()
