"""Shared fixtures: the sandbox over real HTTP and a real Postgres, each from its own module."""

import pytest

from pelcro_sync.api.client import forget_accounts

pytest_plugins = ["tests.fixtures.sandbox", "tests.fixtures.postgres"]


@pytest.fixture(autouse=True)
def _no_account_cache_between_tests() -> None:
    """Each test learns its account afresh: sandboxes differ between tests."""
    forget_accounts()
