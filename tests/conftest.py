"""Shared fixtures: the sandbox over real HTTP and a real Postgres, each from its own module."""

pytest_plugins = ["tests.fixtures.sandbox", "tests.fixtures.postgres"]
