"""Helpers of the history tests: a record's versions, and history checked against current."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text


@dataclass(frozen=True)
class Version:
    valid_from: datetime
    valid_to: datetime | None
    raw: dict[str, Any]


def versions(engine: Engine, schema: str, entity: str, site_id: int, record_id: int
             ) -> list[Version]:  # fmt: skip
    """Every version of one record, oldest first."""
    with engine.connect() as conn:
        found = conn.execute(
            text(
                f'SELECT _valid_from, _valid_to, _raw FROM "{schema}"."{entity}_history"'
                " WHERE site_id = :s AND id = :i ORDER BY _valid_from"
            ),
            {"s": site_id, "i": record_id},
        )
        return [Version(r._valid_from, r._valid_to, r._raw) for r in found]


def all_versions(engine: Engine, schema: str, entity: str) -> list[tuple[Any, ...]]:
    """Every history row of an entity, in key order: to compare before and after."""
    with engine.connect() as conn:
        found = conn.execute(
            text(
                f'SELECT site_id, id, _valid_from, _valid_to, _raw::text FROM "{schema}".'
                f'"{entity}_history" ORDER BY site_id, id, _valid_from'
            )
        )
        return [tuple(r) for r in found]


def current_row(engine: Engine, schema: str, entity: str, site_id: int, record_id: int
                ) -> dict[str, Any]:  # fmt: skip
    with engine.connect() as conn:
        row = conn.execute(
            text(
                f'SELECT _raw, _synced_at, _deleted_at FROM "{schema}"."{entity}"'
                " WHERE site_id = :s AND id = :i"
            ),
            {"s": site_id, "i": record_id},
        ).one()
        return {"raw": row._raw, "synced_at": row._synced_at, "deleted_at": row._deleted_at}


def assert_history_matches_current(engine: Engine, schema: str, entity: str) -> None:
    """Every live current row has exactly one open version, with its `_raw` and typed
    columns; a deleted row has none; each record's versions are a chain (none open but
    the last, none overlapping the next, none ending before it began) and no
    version is orphaned."""
    table, hist = f'"{schema}"."{entity}"', f'"{schema}"."{entity}_history"'
    queries = {
        "live rows without exactly one identical open version": (
            f"SELECT t.id FROM {table} t WHERE t._deleted_at IS NULL AND 1 <> (SELECT count(*)"
            f" FROM {hist} h WHERE h.site_id = t.site_id AND h.id = t.id"
            " AND h._valid_to IS NULL AND h._raw = t._raw)"
        ),
        "open versions that differ from their current row (typed columns included)": (
            f"SELECT h.id FROM {hist} h JOIN {table} t USING (site_id, id)"
            " WHERE h._valid_to IS NULL"
            " AND (to_jsonb(t) - '_synced_at' - '_deleted_at' - '_raw_hash')"
            " <> (to_jsonb(h) - '_valid_from' - '_valid_to')"
        ),
        "deleted rows with an open version": (
            f"SELECT t.id FROM {table} t JOIN {hist} h USING (site_id, id)"
            " WHERE t._deleted_at IS NOT NULL AND h._valid_to IS NULL"
        ),
        "versions of no current row": (
            f"SELECT h.id FROM {hist} h WHERE NOT EXISTS (SELECT 1 FROM {table} t"
            " WHERE t.site_id = h.site_id AND t.id = h.id)"
        ),
        "versions ending before they begin": (
            f"SELECT id FROM {hist} WHERE _valid_to < _valid_from"
        ),
        "versions that overlap the next one": (
            "SELECT id FROM (SELECT id, _valid_to, lead(_valid_from) OVER w AS next_from"
            f" FROM {hist} WINDOW w AS (PARTITION BY site_id, id ORDER BY _valid_from)) v"
            " WHERE next_from IS NOT NULL AND (_valid_to IS NULL OR _valid_to > next_from)"
        ),
    }
    with engine.connect() as conn:
        for problem, query in queries.items():
            bad = conn.execute(text(query)).scalars().all()
            assert not bad, f"{entity}: {problem}: {sorted(bad)[:10]}"
