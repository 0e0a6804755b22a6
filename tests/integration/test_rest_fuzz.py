"""The REST path fuzzed: hostile records planted in the sandbox (NUL and lone surrogates in
keys and values, ids beyond 64 bits or unusable, timestamps beyond the calendar, every field
of the wrong type) sync over HTTP; each record is either stored, equal to what the API sent
under the text policy, or counted as dropped, and the run never fails."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from pelcro_sandbox import Running, Sandbox, SandboxConfig, serve
from pelcro_sandbox.dataset import REMOVED
from pelcro_sync.entities import get_entity
from pelcro_sync.transform.normalize import INT64_MAX, MAX_SECONDS, MIN_SECONDS, sanitize
from tests.faults.helpers import fast_client, live_raw, sync_all
from tests.hostile import integers, json_values, same_json, texts
from tests.integration.webhook_helpers import schema_for_module

EXAMPLES = 40  # syncs; each plants up to 4 hostile records among 60
CUSTOMERS = get_entity("customers")
TIMESTAMPS = set(CUSTOMERS.fields_of("timestamp"))
BIGINTS = set(CUSTOMERS.fields_of("bigint"))
UNUSABLE_IDS = [2**63, 2**70, -(2**63) - 1, "²", "abc", 1.5, None, True, [1], {"id": 1}]
HUGE_TIMES = [1e12, 2**70, 1e300, -1e20, "10000-01-01T00:00:00Z", "²", True, {"t": 1}]


def value_for(name: str) -> st.SearchStrategy[Any]:
    if name == "id":
        return st.sampled_from(UNUSABLE_IDS)
    if name in TIMESTAMPS:
        return st.one_of(st.sampled_from(HUGE_TIMES), json_values)
    if name in BIGINTS:
        return st.one_of(integers, texts, json_values)
    return json_values


fields = st.one_of(st.sampled_from(["id", *CUSTOMERS.field_names]), texts)
overrides = fields.flatmap(lambda name: st.tuples(st.just(name), value_for(name)))
plants = st.lists(st.tuples(st.integers(0, 59), st.lists(overrides, min_size=1, max_size=4)),
                  min_size=1, max_size=4)  # fmt: skip


@pytest.fixture(scope="module")
def rest_target(pg_url: str, pg_engine: Engine) -> Iterator[tuple[Running, str]]:
    sandbox = Sandbox(SandboxConfig(seed=11, customers=60, sites=1))
    with serve(sandbox) as running, schema_for_module(pg_url, pg_engine) as schema:
        yield running, schema


@contextmanager
def planted_in(sb: Sandbox, site: int, planted: list) -> Iterator[None]:
    """Plant the changes on records picked by position; put the records back afterwards,
    so every example starts from the same data (and replays the same when shrunk)."""
    originals = {r["id"]: r for r in sb.truth("customers", site)}
    ids = sorted(originals)
    touched: dict[int, set[str]] = {}
    for index, changes in planted:
        record_id = ids[index % len(ids)]
        sb.mutate(updates={"customers": {record_id: dict(changes)}})
        touched.setdefault(record_id, set()).update(name for name, _ in changes)
    try:
        yield
    finally:
        for record_id, names in touched.items():
            base = originals[record_id]
            restore = {n: REMOVED for n in names if n not in base} | base
            sb.mutate(updates={"customers": {record_id: restore}})


def as_id(value: Any) -> int | None:
    """The warehouse id a usable API id becomes (a plain integer within bigint)."""
    if type(value) is int and -INT64_MAX - 1 <= value <= INT64_MAX:
        return value
    return None


def out_of_range(value: Any) -> bool:
    return type(value) in (int, float) and not MIN_SECONDS <= value < MAX_SECONDS


SLOW_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SLOW_OK,
          phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])  # fmt: skip
@given(planted=plants)
# Found by this test: a record whose id turns unusable leaves its old id a delete candidate
# that GET still answers; confirming it must not read the record's own id as an integer.
@example(planted=[(0, [("id", None)])])
@example(planted=[(0, [("id", "²")])])
def test_hostile_records_are_stored_or_counted_and_the_run_succeeds(
    rest_target: tuple[Running, str], pg_engine: Engine, planted: list
) -> None:
    running, schema = rest_target
    site, sb = running.site_ids[0], running.sandbox
    with planted_in(sb, site, planted), fast_client(running) as client:
        (result,) = sync_all(client, engine=pg_engine, schema=schema, sites=[site],
                             entities=["customers"])  # fmt: skip
        # As the client reads it: the standard library keeps big integers and surrogates.
        truth = [json.loads(json.dumps(r)) for r in sb.truth("customers", site)]
    assert result.status == "succeeded", result.error
    raws = live_raw(pg_engine, schema, "customers", site)
    stored = [r for r in truth if as_id(r.get("id")) is not None]
    for record in stored:
        assert same_json(raws[record["id"]], sanitize(record)), record["id"]
    assert result.dropped == len(truth) - len(stored)  # the rest: counted, not lost
    for name in TIMESTAMPS | BIGINTS:
        bad = sum(out_of_range(r.get(name)) if name in TIMESTAMPS else
                  type(r.get(name)) is int and as_id(r[name]) is None for r in stored)  # fmt: skip
        assert result.type_errors.get(name, 0) >= bad, name
