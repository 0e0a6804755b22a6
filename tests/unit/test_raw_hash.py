"""`_raw_hash`: the check before typing hashes exactly what the write stores."""

from pelcro_sync.entities import get_entity
from pelcro_sync.transform import raw_hash
from pelcro_sync.transform.normalize import normalize


def test_a_usual_record_hashes_as_its_stored_raw_text() -> None:
    entity = get_entity("customers")
    records = [
        {"id": 7, "email": "zoë@example.com", "metadata": {"b": 1, "a": [1.5, None]}},
        {"id": 8, "email": "e\u00e9\U0001f389", "first_name": None},
    ]
    positions, ids, hashes = raw_hash.of_records(records)
    stored = raw_hash.of_texts(normalize(entity, records).frame["_raw"].tolist())
    assert (positions, ids) == ([0, 1], [7, 8])
    assert hashes == stored and len(set(hashes)) == 2
    assert all(-(2**63) <= h < 2**63 for h in hashes)


def test_any_change_of_the_text_changes_the_hash() -> None:
    base = {"id": 1, "email": "a@example.com", "metadata": {"x": 1}}
    variants = [
        {**base, "email": "b@example.com"},
        {**base, "metadata": {"x": 2}},
        {**base, "new_field": None},
        {"email": "a@example.com", "id": 1, "metadata": {"x": 1}},  # key order: a false change
    ]
    [h0] = raw_hash.of_records([base])[2]
    assert all(raw_hash.of_records([v])[2] != [h0] for v in variants)
    assert raw_hash.of_records([dict(base)])[2] == [h0]


def test_records_normalize_rewrites_or_drops_are_left_out() -> None:
    """They count as changed: typed and merged as always, never skipped."""
    records = [
        {"id": "12"},  # no int id
        {"id": 2**64},  # beyond int64
        {"id": 3, "name": "nul\x00"},  # normalize escapes the NUL: its text is not orjson's
        {"id": 4, "name": "lone \ud800"},  # orjson refuses it
        {"id": True},
        "not a record",
        {"id": 5},
    ]
    positions, ids, hashes = raw_hash.of_records(records)  # type: ignore[arg-type]
    assert (positions, ids, len(hashes)) == ([6], [5], 1)
