"""The dbt connection comes from the warehouse URL as environment variables, never a file."""

import os

import pytest

from pelcro_sync.errors import ConfigError
from pelcro_sync.warehouse.marts import PASSWORD_VAR, dbt_env, environment, marts_schema


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://ana:s3cr%40t@db.example.com:6543/wh?sslmode=require",
         {"PELCRO_DBT_HOST": "db.example.com", "PELCRO_DBT_PORT": "6543",
          "PELCRO_DBT_USER": "ana", PASSWORD_VAR: "s3cr@t", "PELCRO_DBT_DBNAME": "wh",
          "PELCRO_DBT_SSLMODE": "require"}),
        ("postgresql+psycopg://postgres@/pelcro?host=/tmp/pg-socket",
         {"PELCRO_DBT_HOST": "/tmp/pg-socket", "PELCRO_DBT_PORT": "5432",
          "PELCRO_DBT_USER": "postgres", PASSWORD_VAR: "", "PELCRO_DBT_DBNAME": "pelcro",
          "PELCRO_DBT_SSLMODE": "prefer"}),
    ],
    ids=["tcp-with-password", "embedded-unix-socket"],
)  # fmt: skip
def test_dbt_env_from_url(url: str, expected: dict[str, str]) -> None:
    env = dbt_env(url, schema="pelcro", marts="pelcro_marts")
    assert env == {**expected, "PELCRO_SCHEMA": "pelcro", "PELCRO_MARTS_SCHEMA": "pelcro_marts"}


def test_marts_schema_default_and_validation() -> None:
    assert marts_schema({}) == "pelcro_marts"
    assert marts_schema({"PELCRO_MARTS_SCHEMA": " analytics "}) == "analytics"
    with pytest.raises(ConfigError, match="PELCRO_MARTS_SCHEMA"):
        marts_schema({"PELCRO_MARTS_SCHEMA": "Bad-Name"})


def test_environment_is_restored() -> None:
    os.environ.pop("PELCRO_DBT_HOST", None)
    with environment({"PELCRO_DBT_HOST": "h"}):
        assert os.environ["PELCRO_DBT_HOST"] == "h"
    assert "PELCRO_DBT_HOST" not in os.environ
