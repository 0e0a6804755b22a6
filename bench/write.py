"""Warehouse write benchmark: plain COPY vs normalize vs upsert (first load and unchanged reload),
and the direct COPY a scan of an empty site uses (`pelcro_sync.warehouse.first_load`).

Run: `python -m bench.write [--rows 200000] [--batch 1000] [--runs 3]`. Uses DATABASE_URL's
server (or 127.0.0.1:5432) and works in a throwaway database it drops afterwards.
"""

import argparse
import os
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import repeat
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from pelcro_sync import collector
from pelcro_sync.entities import get_entity
from pelcro_sync.transform.normalize import NormalizedBatch, normalize
from pelcro_sync.warehouse.encode import STAGE_TYPES, _wire_values
from pelcro_sync.warehouse.first_load import insert_new
from pelcro_sync.warehouse.schema import build_metadata
from pelcro_sync.warehouse.upsert import upsert_batch

LOCAL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SCHEMA = "pelcro"
SITE = 1001
NAMES = ["Zoë", "José", "Łukasz", "Amélie", "北京", "Søren", "Ana", "Mia", "John", "Émile 🎉"]


def customer(i: int, rng: random.Random) -> dict[str, Any]:
    """A Pelcro-like customer: ~25 fields, a metadata object, some unicode."""
    first, last = rng.choice(NAMES), rng.choice(NAMES)
    created = 1_500_000_000 + i * 37
    return {
        "id": 10_000_000 + i, "email": f"user{i}@example.com", "first_name": first,
        "last_name": last, "name": f"{first} {last}", "display_name": f"{first} {last[0]}.",
        "username": f"user{i}", "salutation": None, "title": rng.choice([None, "Dr", "Ms"]),
        "phone": f"+1 555 {i % 10_000:04d}", "tin": None, "old_provider_id": None,
        "email_confirm": rng.choice([0, 1]), "email_hardbounce": False,
        "phone_confirm": rng.choice([True, False]), "mail_marketing": 1, "tele_marketing": 0,
        "has_password": rng.choice([0, 1, True]), "is_imported": False,
        "organization": rng.choice([None, 42]), "default_source_id": 900_000 + i,
        "metadata": {"plan": rng.choice(["gold", "silver"]), "source": "web", "ref": str(i)},
        "password_last_updated_at": created + 99, "last_login_at": created + 5000,
        "created_at": created, "updated_at": "2023-02-21T13:06:47.000000Z", "deleted_at": None,
        "language": "fr", "currency": "usd",
    }  # fmt: skip


def median_time(fn: Callable[[], Any], runs: int, before: Callable[[], Any] | None = None) -> float:
    times = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@contextmanager
def throwaway_database() -> Iterator[Engine]:
    server = os.environ.get("DATABASE_URL") or LOCAL
    admin = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"pelcro_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(server).set(drivername="postgresql+psycopg", database=name)
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def plain_copy(engine: Engine, batches: list[NormalizedBatch]) -> None:
    """The ceiling: the same rows straight into the target table by binary COPY."""
    entity = get_entity("customers")
    names = ["site_id", "id", *entity.field_names, "_raw", "_synced_at"]
    wire = ["int8", "int8", *(STAGE_TYPES[f.kind][1] for f in entity.fields), "text", "int8"]
    jsonish = [f.kind == "json" for f in entity.fields] + [True]
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(SCHEMA, entity.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    now_us = int((datetime.now(UTC).timestamp() - 946_684_800) * 1_000_000)
    with engine.begin() as conn, conn.connection.driver_connection.cursor() as cur:  # type: ignore[union-attr]
        for batch in batches:
            frame = batch.frame
            cols = [_wire_values(frame[f.name], f.kind) for f in entity.fields]
            cols.append(frame["_raw"].tolist())
            # jsonb's binary form is a version byte then the text
            cols = [[None if v is None else "\x01" + v for v in c] if j else c
                    for c, j in zip(cols, jsonish, strict=True)]  # fmt: skip
            with collector.paused(), cur.copy(statement) as copy:
                copy.set_types(wire)
                for row in zip(repeat(SITE), frame["id"].tolist(), *cols, repeat(now_us)):
                    copy.write_row(row)


def load_direct(engine: Engine, batches: list[NormalizedBatch]) -> None:
    """A first load as a scan of an empty site writes it: COPY into the table per batch."""
    entity = get_entity("customers")
    for batch in batches:
        with engine.begin() as conn:
            counts = insert_new(conn, entity=entity, site_id=SITE, batch=batch, schema=SCHEMA)
            assert counts is not None, "a key was already there: the table was not empty"


def load(engine: Engine, batches: list[NormalizedBatch]) -> list[int]:
    """Upsert every batch, one transaction each as the sync does; rows written per batch."""
    entity = get_entity("customers")
    written = []
    for batch in batches:
        with engine.begin() as conn:
            counts = upsert_batch(conn, entity=entity, site_id=SITE, batch=batch, schema=SCHEMA)
            written.append(counts.written)
    return written


def run(rows: int, batch_size: int, runs: int) -> dict[str, float]:
    entity = get_entity("customers")
    rng = random.Random(7)
    records = [customer(i, rng) for i in range(rows)]
    pages = [records[i : i + batch_size] for i in range(0, rows, batch_size)]
    batches: list[NormalizedBatch] = []
    t_norm = median_time(
        lambda: batches.__setitem__(slice(None), [normalize(entity, p) for p in pages]), runs
    )
    with throwaway_database() as engine:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{SCHEMA}"')
            build_metadata(SCHEMA).create_all(conn)

        def truncate() -> None:
            with engine.begin() as conn:
                conn.exec_driver_sql(f'TRUNCATE "{SCHEMA}".customers, "{SCHEMA}".customers_history')

        t_copy = median_time(lambda: plain_copy(engine, batches), runs, before=truncate)
        t_direct = median_time(lambda: load_direct(engine, batches), runs, before=truncate)
        first, reload, rewritten = [], [], []
        for _ in range(runs):
            truncate()
            start = time.perf_counter()
            load(engine, batches)
            first.append(time.perf_counter() - start)
            start = time.perf_counter()
            rewritten.append(sum(load(engine, batches)))
            reload.append(time.perf_counter() - start)
    t_first, t_reload = statistics.median(first), statistics.median(reload)
    return {
        "rows": rows, "batch": batch_size,
        "copy_rows_s": rows / t_copy, "normalize_rows_s": rows / t_norm,
        "upsert_rows_s": rows / t_first, "ratio_to_copy": t_copy / t_first,
        "end_to_end_rows_s": rows / (t_norm + t_first),
        "direct_first_load_rows_s": rows / t_direct, "direct_ratio_to_copy": t_copy / t_direct,
        "reload_s": t_reload, "first_load_s": t_first, "reload_rows_written": max(rewritten),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(prog="python -m bench.write", description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000, help="records per upsert batch")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    result = run(args.rows, args.batch, args.runs)
    print(f"{args.rows:,} customer records, batches of {args.batch}, median of {args.runs} runs")
    print(f"{'measure':<34}{'value':>14}")
    for key, value in result.items():
        print(f"{key:<34}{value:>14,.2f}" if isinstance(value, float) else f"{key:<34}{value:>14,}")
    targets = result["ratio_to_copy"] >= 0.6 and result["reload_rows_written"] == 0
    print(
        "targets met"
        if targets and result["reload_s"] < result["first_load_s"]
        else "TARGETS MISSED"
    )
    return result


if __name__ == "__main__":
    main()
