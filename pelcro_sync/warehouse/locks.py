"""One sync at a time per (schema, site, entity): a Postgres session-level advisory lock.

The lock lives on a dedicated connection held for the whole sync, so it is released when
the sync ends, and also when its process dies (the server drops the session).
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from psycopg import sql
from sqlalchemy import Connection

from pelcro_sync.entities import Entity
from pelcro_sync.errors import PelcroSyncError
from pelcro_sync.warehouse import sql as q
from pelcro_sync.warehouse.warehouse import Warehouse

POLL_S = 0.2


class SyncInProgressError(PelcroSyncError):
    """Another run holds the lock of this site and entity."""


_TRY = sql.SQL("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))")
_UNLOCK = sql.SQL("SELECT pg_advisory_unlock(hashtextextended(%s, 0))")


def lock_key(*, schema: str, site_id: int, entity: Entity) -> str:
    return f"pelcro-sync:{schema}:{site_id}:{entity.name}"


@contextmanager
def entity_lock(
    warehouse: Warehouse, *, site_id: int, entity: Entity, wait_s: float = 0.0
) -> Iterator[None]:
    """Hold the lock of (schema, site, entity) inside the block; wait up to `wait_s` for it.

    Raises:
        SyncInProgressError: another run still holds it after `wait_s` seconds.
    """
    key = lock_key(schema=warehouse.schema, site_id=site_id, entity=entity)
    conn = warehouse.connect()
    try:
        # Autocommit: a session lock must not sit inside a transaction left open for hours.
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        _acquire(conn, key=key, wait_s=wait_s, what=f"{entity.name} of site {site_id}")
        try:
            yield
        finally:
            q.scalar(conn, _UNLOCK, (key,))
    finally:
        conn.close()


def _acquire(conn: Connection, *, key: str, wait_s: float, what: str) -> None:
    deadline = time.monotonic() + max(0.0, wait_s)
    while not q.scalar(conn, _TRY, (key,)):
        if time.monotonic() >= deadline:
            raise SyncInProgressError(
                f"{what} is already being synced by another run; "
                "this one stops (try again when it has finished)"
            )
        time.sleep(POLL_S)
