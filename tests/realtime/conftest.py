from tests.e2e.fixtures import (  # noqa: F401
    conformance_server,
    pytest_runtest_makereport,
    server,
    server_factory,
    two_servers,
)
