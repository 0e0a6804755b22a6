"""Hypothesis strategies for hostile JSON (NUL, lone surrogates, integers beyond 64 bits, huge
floats and timestamps, every field of the wrong type) and the comparison the text policy
allows. Shared by the webhook and REST-path fuzz tests."""

import json
import time
from typing import Any

from hypothesis import strategies as st

from pelcro_sync.transform.normalize import MAX_SECONDS, MIN_SECONDS, sanitize

NOW = int(time.time())  # fixed for the session: a strategy must not change between draws
SPECIAL_TEXT = ["\x00", "a\x00b", "\ud800", "x\udfffy", "²", "\n", "evt_\r\nforged", "", " "]
SPECIAL_INTS = [2**63 - 1, 2**63, -(2**63) - 1, 2**64, 2**70, -(2**70), 10**40, 0, -1]
SPECIAL_FLOATS = [1e308, -1e308, 1e12, 1e300, 5e-324, 0.5, -0.0, 1.7976931348623157e308]

# Any code point, surrogates included (hypothesis's default alphabet).
texts = st.one_of(st.text(max_size=12), st.sampled_from(SPECIAL_TEXT))
integers = st.one_of(st.integers(min_value=-(2**80), max_value=2**80),
                     st.sampled_from(SPECIAL_INTS))  # fmt: skip
floats = st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                   st.sampled_from(SPECIAL_FLOATS))  # fmt: skip
scalars = st.one_of(st.none(), st.booleans(), integers, floats, texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=20,
)
# Ids as Pelcro sends them, and everything else that could sit in their place.
ids = st.one_of(st.integers(min_value=1, max_value=10**9), integers, texts, json_values)
created = st.one_of(st.integers(min_value=1_500_000_000, max_value=2_000_000_000), integers,
                    floats, texts, st.booleans(), st.none())  # fmt: skip


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    """A Pelcro-shaped envelope, each field either plausible or hostile, some left out."""
    obj: dict[str, Any] = draw(st.dictionaries(texts, json_values, max_size=5))
    for key, values in (("id", ids), ("site_id", ids), ("object", texts),
                        ("site_ids", st.lists(ids, max_size=3))):  # fmt: skip
        if draw(st.booleans()):
            obj[key] = draw(values)
    event: dict[str, Any] = {"data": {"object": obj}}
    plausible = {
        "id": st.uuids().map(lambda u: f"evt_{u.hex}"),
        "type": st.sampled_from(["customer.updated", "invoice.paid", "export.done"]),
        "created": st.integers(min_value=NOW - 3600, max_value=NOW),
    }
    hostile = {"id": ids, "type": st.one_of(texts, json_values), "created": created}
    for key in ("id", "type", "created"):
        roll = draw(st.integers(0, 9))  # plausible 7 times in 10, hostile 2, absent 1
        if roll:
            event[key] = draw(plausible[key] if roll <= 7 else hostile[key])
    if draw(st.integers(0, 4)) == 0:
        event = {**draw(st.dictionaries(texts, json_values, max_size=3)), **event}
    return event


def dumps(value: Any) -> bytes:
    """JSON as a sender writes it (the standard library: exact big integers, \\u escapes)."""
    return json.dumps(value, separators=(",", ":")).encode()


def same_json(stored: Any, sent: Any) -> bool:
    """Equal as JSON values: Postgres keeps numbers as decimals, so 1e308 may come back as the
    integer it equals (and 5.0 as 5.0 or 5); every other value must match exactly."""
    if isinstance(stored, dict) and isinstance(sent, dict):
        return stored.keys() == sent.keys() and all(same_json(stored[k], sent[k]) for k in sent)
    if isinstance(stored, list) and isinstance(sent, list):
        return len(stored) == len(sent) and all(map(same_json, stored, sent))
    numbers = (int, float)
    if isinstance(stored, numbers) and isinstance(sent, numbers):
        if isinstance(stored, bool) or isinstance(sent, bool):
            return stored is sent
        if isinstance(stored, float) or isinstance(sent, float):
            return float(stored) == float(sent)
        return stored == sent
    return type(stored) is type(sent) and stored == sent


def acceptable(sent: dict) -> bool:
    """What the receiver promises to store: string `id` and `type` of 1..255 characters
    (after the text policy) and `created` absent, null, or unix seconds of years 1..9999."""
    texts_ok = all(isinstance(sent.get(k), str) and 1 <= len(sanitize(sent[k])) <= 255
                   for k in ("id", "type"))  # fmt: skip
    c = sent.get("created")
    created_ok = c is None or (
        isinstance(c, int | float) and not isinstance(c, bool) and MIN_SECONDS <= c < MAX_SECONDS
    )
    return texts_ok and created_ok
