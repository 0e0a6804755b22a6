"""`_raw_hash`: 64 bits of BLAKE2b over a record's `_raw` JSON text, to know it unchanged untyped.

What is hashed is the JSON text `normalize` stores in `_raw` (compact orjson, keys in the
order the API sent them), not the HTTP body: the client parses a page whole, so a record's
own bytes are never at hand, and the text is what the warehouse keeps, so one function
serves the write (`of_texts`) and the check before it (`of_records`). Serializing a parsed
record again costs ~1 µs, less than a tenth of typing and writing it. Two texts that differ
only in key order or number spelling hash apart: the record is then typed and merged, and
the merge finds it unchanged, so a false "changed" costs time, never a row. A false
"unchanged" needs a 64-bit collision between a record's old and new text: about 5e-20 per
change.
"""

from collections.abc import Sequence
from hashlib import blake2b
from typing import Any

import numpy as np
import orjson

from pelcro_sync.transform.normalize import INT64_MAX, INT64_MIN

_SIZE = 8  # bytes: a bigint column


def _join(digests: list[bytes]) -> list[int]:
    """Digests as signed 64-bit ints: one numpy view for the batch, not a call per value."""
    if not digests:
        return []
    return np.frombuffer(b"".join(digests), dtype=">i8").astype(np.int64).tolist()


def of_texts(texts: Sequence[str]) -> list[int]:
    """The hash of each `_raw` text (a `normalize()` frame's `_raw` column)."""
    return _join([blake2b(t.encode(), digest_size=_SIZE).digest() for t in texts])


def of_records(records: Sequence[Any]) -> tuple[list[int], list[int], list[int]]:
    """(positions, ids, hashes) of the records whose `_raw` text `normalize` writes as
    orjson does and whose id is an int64: the usual record. The others (no usable id, a
    lone surrogate, an integer beyond 64 bits, an escaped NUL that normalize rewrites) are
    left out: they count as changed, and normalize deals with them as it always does."""
    positions: list[int] = []
    ids: list[int] = []
    digests: list[bytes] = []
    dumps = orjson.dumps
    for i, rec in enumerate(records):
        rid = rec.get("id") if type(rec) is dict else None
        if type(rid) is not int or not INT64_MIN <= rid <= INT64_MAX:
            continue
        try:
            raw = dumps(rec)
        except TypeError:
            continue
        if b"\\u0000" in raw:
            continue
        positions.append(i)
        ids.append(rid)
        digests.append(blake2b(raw, digest_size=_SIZE).digest())
    return positions, ids, _join(digests)
