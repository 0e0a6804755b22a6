"""The webhook signature recipe, the stale check and envelope parsing."""

import base64
import hashlib
import hmac

import pytest

from pelcro_sync.webhooks import signature
from pelcro_sync.webhooks.events import EnvelopeError, parse_envelope, sites_of
from pelcro_sync.webhooks.signature import is_stale, sign, verify

SECRET = "whsec_test_0123456789"
BODY = b'{"type":"customer.created","id":"evt_1","created":1660237679,"data":{"object":{}}}'


def test_sign_is_base64_hmac_sha256_of_the_raw_body() -> None:
    expected = base64.b64encode(hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()).decode()
    assert sign(SECRET, BODY) == expected
    assert len(expected) == 44  # the documented header length: a 32-byte digest in base64
    assert verify(SECRET, BODY, expected)
    assert verify(SECRET, BODY, f"  {expected}\n")  # header whitespace is not the signature


def test_a_fixed_vector_stays_fixed() -> None:
    """Pins the recipe: a change to `sign` would silently break every stored integration."""
    assert sign("key", b"The quick brown fox jumps over the lazy dog") == (
        "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="
    )


def test_verify_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signature.hmac, "compare_digest", spy)
    assert verify(SECRET, BODY, sign(SECRET, BODY))
    assert not verify(SECRET, BODY, sign("other", BODY))
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("secret", "body", "header"),
    [
        ("wrong-secret", BODY, sign(SECRET, BODY)),
        (SECRET, BODY + b" ", sign(SECRET, BODY)),
        (SECRET, BODY.replace(b"evt_1", b"evt_2"), sign(SECRET, BODY)),
        (SECRET, BODY, None),
        (SECRET, BODY, ""),
        (SECRET, BODY, "not base64 at all"),
        (SECRET, BODY, "é" * 44),
        ("", BODY, sign("", BODY)),
    ],
    ids=[
        "wrong-secret", "body-appended", "body-altered", "missing-header", "empty-header",
        "garbage-header", "non-ascii-header", "empty-secret",
    ],
)  # fmt: skip
def test_verify_rejects(secret: str, body: bytes, header: str | None) -> None:
    assert verify(secret, body, header) is False


@pytest.mark.parametrize(
    ("created", "tolerance", "stale"),
    [(1000.0, 100, True), (1950.0, 100, False), (None, 100, False), (0.0, 0, False)],
    ids=["old", "recent", "no-created", "check-off"],
)
def test_is_stale(created: float | None, tolerance: float, stale: bool) -> None:
    assert is_stale(created, tolerance_s=tolerance, now=2000.0) is stale


def test_parse_envelope_reads_the_documented_fields() -> None:
    event = parse_envelope(
        b'{"type":"plan.updated","id":"evt_2","created":1676986362,'
        b'"data":{"object":{"id":375621,"site_ids":[775,791]}}}'
    )
    assert (event.event_id, event.type, event.created) == ("evt_2", "plan.updated", 1676986362)
    assert (event.entity, event.object_id, event.site_ids) == ("plans", 375621, [775, 791])
    assert not event.is_deletion


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"type": "x"}', b'{"id": "evt_1"}', b'{"id": 5, "type": "x"}'],
    ids=["not-json", "array", "no-id", "no-type", "numeric-id"],
)
def test_parse_envelope_refuses(body: bytes) -> None:
    with pytest.raises(EnvelopeError):
        parse_envelope(body)


def test_sites_of_prefers_site_id_then_site_ids() -> None:
    assert sites_of({"site_id": 85, "site_ids": [1, 2]}) == [85]
    assert sites_of({"site_ids": [2, "3", 2, None]}) == [2, 3]
    assert sites_of({}) == []
