from tests.e2e.fixtures import pytest_runtest_makereport, server_factory  # noqa: F401
