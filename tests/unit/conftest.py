"""Unit tests: pure logic, no database, no HTTP; the whole directory runs in seconds (`pytest tests/unit`)."""

import pytest

DATABASE_FIXTURES = {"database_url", "server_url", "engine", "db"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
        if used and "tests/unit/" in item.nodeid:
            raise pytest.UsageError(f"{item.nodeid} uses {sorted(used)}: unit tests run without a database")
