"""Where every entity's reconcile scan stands: read from `_sync_state` for turns and status."""

from datetime import datetime

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
    states = {}
    for row in q.dicts(conn, query):
        run_id = row["scan_run_id"]
        found = SyncState(**{**row, "scan_run_id": None if run_id is None else str(run_id)})
        states[(found.site_id, found.entity)] = found
    return states


def last_complete_scans(
    conn: Connection, *, warehouse: Warehouse, entity: Entity
) -> dict[int, datetime | None]:
    """site_id -> when the entity's last complete scan there ended (None: none yet)."""
    query = sql.SQL("SELECT site_id, last_complete_scan_at FROM {} WHERE entity = %s").format(
        warehouse.table(SYNC_STATE)
    )
    return {int(s): at for s, at in q.rows(conn, query, (entity.name,))}
