"""`PostgresBudget`: one account's request budget shared by every process on every host.

The Pelcro rate limit is per account, so syncs on several machines must draw on one budget.
The FileBudget's GCRA moves into one row per account in Postgres, which every host already
reaches (the warehouse, or `PELCRO_BUDGET_URL`). Each acquire is a single atomic upsert
that reserves the next slot and returns how long to wait for it; the sleep happens in the
client, so no lock is held while waiting. Times come from the database's clock
(`clock_timestamp()`), so the hosts' clocks may disagree freely.

The table lives in its own schema, `pelcro_budget`, created with `IF NOT EXISTS` on first
use. It is not an Alembic migration: the migrations (and `alembic check`) cover only the
entity schema, and the budget must work even for a process that never migrates. The row's
key is a fingerprint of base URL + credential; the credential itself is never stored.
"""

import logging
import threading
import time
from typing import Any

from pelcro_sync.api import ratelimit
from pelcro_sync.api.ratelimit import DEFAULT_MARGIN, Budget, Sleep, Slots, fingerprint
from pelcro_sync.config import Settings
from pelcro_sync.errors import ConfigError
from pelcro_sync.warehouse.engine import describe, normalize_url, resolve_database_url

log = logging.getLogger(__name__)

WAREHOUSE = "warehouse"  # PELCRO_BUDGET_URL=warehouse: the budget lives next to the data


class BudgetUnavailable(RuntimeError):
    """The budget's database did not answer; retrying later may help."""


class PostgresBudget:
    """GCRA pacing for one account, held in a Postgres row shared by all processes and hosts.

    Thread-safe: the client's worker threads share one connection under a lock held only for
    a statement (a few ms), never for the wait.
    """

    def __init__(
        self,
        url: str,
        *,
        account_key: str,
        per_minute: float,
        margin: float = DEFAULT_MARGIN,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._url = normalize_url(url, name="PELCRO_BUDGET_URL")
        self.account_key = account_key
        self._margin = margin
        self._slots = Slots(per_minute, margin=margin)
        self._sleep = sleep
        self._lock = threading.Lock()
        self._conn: Any = None
        self.acquired = self.penalties = 0

    @property
    def per_minute(self) -> float:
        return self._slots.per_minute

    def set_rate(self, per_minute: float) -> None:
        self._slots = Slots(per_minute, margin=self._margin)

    def acquire(self) -> float:
        waited = 0.0
        while True:
            wait = self._scalar("ACQUIRE", interval=self._slots.interval)
            if wait is not None and wait > 0:
                self._sleep(wait)
                waited += wait
            # A 429 elsewhere may have paused the account while we slept on our slot.
            left = self._scalar("PAUSE_LEFT")
            if left is None or left <= 0:
                self.acquired += 1
                return waited

    def penalize(self, seconds: float) -> None:
        self.penalties += 1
        self._scalar("PENALIZE", seconds=max(0.0, seconds), returns=False)

    def recorded_rate(self) -> float | None:
        """The rate the account's last user paced by (learnt from its `GET /account`)."""
        value = self._scalar("RATE")
        return value if value and value > 0 else None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _scalar(self, name: str, *, returns: bool = True, **params: float) -> float | None:
        """Run statement `name` of `warehouse.budget` (reconnecting once after a dropped
        connection); its one value."""
        # lazily: the client imports this module even when no budget is set
        import psycopg

        from pelcro_sync.warehouse import budget as statements

        sql = getattr(statements, name)

        args = {"key": self.account_key, "rate": self.per_minute, **params}
        with self._lock:
            for attempt in (1, 2):
                try:
                    conn = self._connect()
                    cursor = conn.execute(sql, args)
                    row = cursor.fetchone() if returns else None
                    return None if row is None or row[0] is None else float(row[0])
                except psycopg.OperationalError as exc:
                    self._drop()
                    if attempt == 2:
                        raise BudgetUnavailable(
                            f"request budget database {describe(self._url)} did not answer: "
                            f"{type(exc).__name__}"
                        ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _connect(self) -> Any:
        import psycopg

        if self._conn is None or self._conn.closed:
            conn = psycopg.connect(
                _libpq(self._url),
                autocommit=True,
                connect_timeout=10,
                application_name="pelcro-sync budget",
            )
            _ensure_table(conn, self._url)
            self._conn = conn
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def __repr__(self) -> str:
        return f"PostgresBudget(account={self.account_key}, per_minute={self.per_minute:g})"


# Process-wide on purpose: the DDL is idempotent, and once per database is enough; every
# client checking again would take the advisory lock below on each budget it opens.
_ENSURED: set[str] = set()


def _ensure_table(conn: Any, url: str) -> None:
    """Create the schema and table once per process and database. Serialised with an
    advisory lock: concurrent `CREATE … IF NOT EXISTS` can still collide in the catalog."""
    if url in _ENSURED:
        return
    with conn.transaction():
        from pelcro_sync.warehouse import budget as statements

        conn.execute(statements.DDL_LOCK)
        conn.execute(statements.DDL)
    _ENSURED.add(url)


def _libpq(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def account_key(*, base_url: str, credential: str) -> str:
    """The account's row key: the same fingerprint the FileBudget's file name uses."""
    return fingerprint(f"{base_url.rstrip('/')}#{credential}")


def budget_url(settings: Settings) -> str | None:
    """PELCRO_BUDGET_URL resolved: None when unset, DATABASE_URL for `warehouse`."""
    raw = settings.budget_url
    if not raw:
        return None
    if raw.strip().lower() == WAREHOUSE:
        if not settings.database_url:
            raise ConfigError("PELCRO_BUDGET_URL=warehouse needs DATABASE_URL to be set")
        return resolve_database_url(settings)
    return normalize_url(raw, name="PELCRO_BUDGET_URL")


# Process-wide on purpose: the clients of one account share one budget connection and its
# rate, rather than a connection each.
_BUDGETS: dict[tuple[str, str], PostgresBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def configured_budget(settings: Settings, *, credential: str, per_minute: float) -> Budget:
    """The budget a client of this account uses: the Postgres one when PELCRO_BUDGET_URL is
    set (one per process, database and account), else the machine-wide FileBudget."""
    url = budget_url(settings)
    if url is None:
        return ratelimit.account_budget(
            base_url=settings.base_url, credential=credential, per_minute=per_minute
        )
    key = account_key(base_url=settings.base_url, credential=credential)
    with _BUDGETS_LOCK:
        budget = _BUDGETS.get((url, key))
        if budget is None:
            budget = _BUDGETS[(url, key)] = PostgresBudget(
                url, account_key=key, per_minute=per_minute
            )
        elif budget.per_minute != per_minute:
            budget.set_rate(per_minute)
        return budget
