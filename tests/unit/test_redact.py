"""The one redactor: registered secrets and secret-looking text never get through."""

import io
import logging
import sys

import pytest

from pelcro_sync.config import Secret
from pelcro_sync.redact import (
    RedactingFilter,
    install_log_redaction,
    one_line,
    redact,
    redact_record,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer ***"),
        ("postgresql://u:s3cret@host/db", "postgresql://u:***@host/db"),
        ("host=db password='x y' user=u", "host=db password=*** user=u"),
        ('{"client_secret": "cs_123", "a": 1}', '{"client_secret": "***", "a": 1}'),
        ("api_key=k_42&site_id=7", "api_key=***&site_id=7"),
        ("GET /customers?site_id=4996: 401 the key was rejected", None),
        ("set PELCRO_CLIENT_SECRET and PELCRO_REDIRECT_URI", None),
        ("tokens last two days", None),
    ],
    ids=["bearer", "url-password", "libpq-password", "json-secret", "query-key",
         "site-id-is-not-secret", "variable-names-stay", "prose-stays"],
)  # fmt: skip
def test_redact_masks_secrets_and_leaves_the_rest(text: str, expected: str | None) -> None:
    assert redact(text) == (text if expected is None else expected)


def test_a_secret_is_masked_wherever_it_appears_once_created() -> None:
    Secret("pk_live_registered_value_1")
    assert redact("oops pk_live_registered_value_1 leaked") == "oops *** leaked"


def test_one_line_collapses_and_truncates() -> None:
    assert one_line("a\n  b\tc", limit=3) == "a b"


def test_log_filter_redacts_the_rendered_message() -> None:
    secret = Secret("tok_for_the_log_filter")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "sent %s", (secret.reveal(),), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == "sent ***"


def test_a_record_without_a_secret_keeps_its_template() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "site %s: %d pages", (7, 3), None)
    RedactingFilter().filter(record)
    assert (record.msg, record.args) == ("site %s: %d pages", (7, 3))


def test_a_traceback_holding_a_secret_is_masked_and_folded_into_the_message() -> None:
    try:
        raise RuntimeError("refused: api_key=k_in_a_traceback")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), exc_info)
    redact_record(record)
    rendered = logging.Formatter().format(record)
    assert record.exc_info is None and "k_in_a_traceback" not in rendered
    assert rendered.startswith("failed\nTraceback") and "api_key=***" in rendered


def test_installed_redaction_masks_records_of_any_logger_and_handler() -> None:
    """A handler added after installing (as Dagster adds its own to `pelcro_sync` for each
    run) and a child logger with no handler of its own both get masked records."""
    install_log_redaction()
    install_log_redaction()  # idempotent: one wrapper around the factory
    factory = logging.getLogRecordFactory()
    assert not isinstance(getattr(factory, "inner", None), type(factory))
    logger, stream = logging.getLogger("pelcro_sync"), io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        logging.getLogger("pelcro_sync.deep.child").warning("via postgresql://u:pw_late@h/db")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == "via postgresql://u:***@h/db\n"
