"""Warehouse URL normalisation, masking and one-line connection errors without passwords."""

import pytest

from pelcro_sync.config import Settings
from pelcro_sync.errors import ConfigError, PelcroSyncError
from pelcro_sync.redact import redact
from pelcro_sync.warehouse import engine as wh
from pelcro_sync.warehouse.errors import WarehouseError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgresql://u:p@db:5432/w", "postgresql+psycopg://u:p@db:5432/w"),
        ("postgres://u:p@db/w", "postgresql+psycopg://u:p@db/w"),
        ("postgresql+psycopg://u@db/w?sslmode=require", "postgresql+psycopg://u@db/w?sslmode=require"),
        ("  postgresql://u@db/w  ", "postgresql+psycopg://u@db/w"),
        ("postgresql://postgres@/pelcro?host=/tmp/pg", "postgresql+psycopg://postgres@/pelcro?host=%2Ftmp%2Fpg"),
    ],
    ids=["postgresql", "heroku-postgres", "already-psycopg", "whitespace", "unix-socket"],
)  # fmt: skip
def test_normalize_url(raw: str, expected: str) -> None:
    assert wh.normalize_url(raw) == expected


def test_resolve_uses_database_url_when_set() -> None:
    settings = Settings(database_url="postgres://u:p@db/w")
    assert wh.resolve_database_url(settings) == "postgresql+psycopg://u:p@db/w"


@pytest.mark.parametrize(
    "raw",
    ["not a url at all :pw@", "mysql://u:hunter2@db/w", "postgresql://u:hunter2@db:notaport/w"],
    ids=["garbage", "other-database", "bad-port"],
)
def test_bad_url_is_a_one_line_config_error_without_the_password(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        wh.normalize_url(raw)
    message = str(caught.value)
    assert "hunter2" not in message and "\n" not in message and "DATABASE_URL" in message


def test_describe_masks_the_password() -> None:
    described = wh.describe("postgresql+psycopg://u:hunter2@db:5432/w")
    assert described == "postgresql+psycopg://u:***@db:5432/w"


def test_redact_covers_urls_bearer_tokens_and_libpq_passwords() -> None:
    masked = redact("x postgresql://u:pw1@h/d Authorization: Bearer tok2 password=pw3")
    assert not {"pw1", "tok2", "pw3"} & set(masked.replace("/", " ").replace("@", " ").split())
    assert masked == "x postgresql://u:***@h/d Authorization: Bearer *** password=***"


def test_make_engine_sets_pre_ping_and_timeout() -> None:
    engine = wh.make_engine("postgres://u:p@db/w", pool_size=3)
    assert engine.pool._pre_ping  # type: ignore[attr-defined]
    assert engine.pool.size() == 3  # type: ignore[attr-defined]
    assert engine.url.drivername == "postgresql+psycopg"


def test_refused_connection_is_one_line_warehouse_error_without_password() -> None:
    engine = wh.make_engine("postgresql://u:hunter2@127.0.0.1:1/w")
    with pytest.raises(WarehouseError) as caught:
        wh.check_connection(engine)
    message = str(caught.value)
    assert isinstance(caught.value, PelcroSyncError)
    assert "connection refused" in message and "hunter2" not in message and "\n" not in message
    assert "u:***@127.0.0.1:1/w" in message
