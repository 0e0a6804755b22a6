"""Where every entity's reconcile scan stands: read from `_sync_state` for turns and status."""

from typing import Any

from psycopg import sql
from sqlalchemy import Connection

from pelcro_sync.entities import Entity
from pelcro_sync.warehouse import sql as q
from pelcro_sync.warehouse.schema import SYNC_STATE
from pelcro_sync.warehouse.state import SyncState
from pelcro_sync.warehouse.warehouse import Warehouse


def all_states(conn: Connection, *, warehouse: Warehouse) -> dict[tuple[int, str], SyncState]:
    """(site_id, entity) -> its state row, for every pair synced so far (one query)."""
    query = sql.SQL("SELECT * FROM {}").format(warehouse.table(SYNC_STATE))
    found = map(_state, q.dicts(conn, query))
    return {(s.site_id, s.entity): s for s in found}


def entity_states(
    conn: Connection, *, warehouse: Warehouse, entity: Entity
) -> dict[int, SyncState]:
    """site_id -> the entity's state row there (when its last complete scan ended, the scan
    in flight, its last success), for every site synced so far."""
    query = sql.SQL("SELECT * FROM {} WHERE entity = %s").format(warehouse.table(SYNC_STATE))
    return {s.site_id: s for s in map(_state, q.dicts(conn, query, (entity.name,)))}


def _state(row: dict[str, Any]) -> SyncState:
    run_id = row["scan_run_id"]
    return SyncState(**{**row, "scan_run_id": None if run_id is None else str(run_id)})
