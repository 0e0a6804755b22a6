"""Property tests of the webhook envelope parser: whatever the body, it returns an event the
warehouse can store, equal to the body under the text policy, or refuses it with one
`EnvelopeError`, never another exception."""

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pelcro_sync.transform.normalize import INT64_MAX, sanitize
from pelcro_sync.webhooks.events import MAX_DEPTH, EnvelopeError, Event, parse_envelope
from tests.hostile import acceptable, dumps, envelopes, json_values, same_json

EXAMPLES = 300  # cases per property; the README's webhook section counts them


def storable(value: Any) -> bool:
    """What Postgres text and jsonb accept: no NUL, no lone surrogate, anywhere."""
    if isinstance(value, str):
        return "\x00" not in value and value.encode("utf-8", "strict") is not None
    if isinstance(value, dict):
        return all(storable(k) and storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(map(storable, value))
    return True


def check(event: Event, body: bytes) -> None:
    assert same_json(event.payload, sanitize(json.loads(body)))
    assert storable(event.payload) and storable(event.event_id) and storable(event.type)
    assert 1 <= len(event.event_id) <= 255 and 1 <= len(event.type) <= 255
    assert event.created is None or event.created_at is not None  # within the calendar
    for value in (event.object_id, *event.site_ids):
        assert value is None or -INT64_MAX - 1 <= value <= INT64_MAX
    json.dumps(event.payload).encode("utf-8")  # what the INSERT sends


def parse(body: bytes) -> Event | None:
    try:
        event = parse_envelope(body)
    except EnvelopeError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None
    check(event, body)
    return event


@settings(max_examples=EXAMPLES, deadline=None)
@given(envelopes())
def test_any_envelope_is_stored_as_sent_under_the_text_policy_or_refused(sent: dict) -> None:
    """Refused exactly when it breaks the documented envelope; otherwise kept, equal to what
    was sent under the text policy."""
    assert (parse(dumps(sent)) is not None) == acceptable(sent)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.one_of(json_values.map(dumps), st.binary(max_size=200)))
def test_any_body_is_an_event_or_one_envelope_error(body: bytes) -> None:
    parse(body)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 10_000, 100_000])
def test_deep_nesting_is_refused_naming_the_depth(depth: int) -> None:
    body = b'{"id":"evt_1","type":"customer.updated","data":' + b"[" * depth + b"]" * depth + b"}"
    with pytest.raises(EnvelopeError, match=f"deeper than {MAX_DEPTH} levels"):
        parse_envelope(body)


@pytest.mark.parametrize("number", [b"1e400", b"-1e400", b"NaN", b"Infinity", b"9" * 5000])
def test_numbers_postgres_cannot_hold_are_refused(number: bytes) -> None:
    with pytest.raises(EnvelopeError, match="not JSON"):
        parse_envelope(b'{"id":"evt_1","type":"t","data":{"x":' + number + b"}}")
