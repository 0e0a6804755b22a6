"""`pelcro-sync forget`: erase one customer's personal data and say what changed where."""

import getpass

from rich.console import Console
from rich.table import Table

from pelcro_sync.config import Settings
from pelcro_sync.warehouse import migrate as migrations
from pelcro_sync.warehouse.engine import describe
from pelcro_sync.warehouse.engine import resolve_database_url as database_url
from pelcro_sync.warehouse.erasure import Erasure, UnknownCustomerError, forget_customer
from pelcro_sync.warehouse.warehouse import Warehouse


def operator() -> str:
    """Who runs this: the operating-system user (a container may have no name for it)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def run(
    settings: Settings,
    *,
    customer_id: int,
    site_id: int | None,
    by: str | None,
    console: Console,
) -> Erasure:
    """Erase in one transaction, print the rows changed per table; one-line errors."""
    url = database_url(settings)
    with Warehouse.open(url, schema=settings.schema, migrated=False, pool_size=1) as warehouse:
        at = migrations.current(url, schema=warehouse.schema)
        if at is None:  # never migrated: no table can hold the customer
            raise UnknownCustomerError(
                f"customer {customer_id} is not in the warehouse: schema {warehouse.schema} "
                f"at {describe(url)} holds no tables; nothing was erased"
            )
        if at != migrations.head():
            migrations.upgrade(url, schema=warehouse.schema)  # as `sync` does: `_erasures` is new
        with warehouse.begin() as conn:
            erasure = forget_customer(
                conn, customer_id, schema=warehouse.schema, by=by or operator(), site_id=site_id
            )
    console.print(_table(erasure, where=f"{describe(url)}, schema {settings.schema}"))
    sites = ", ".join(map(str, erasure.sites))
    console.print(
        f"erased customer {customer_id}'s personal data on site {sites}: "
        f"{erasure.rows_changed:,} rows changed (recorded in _erasures as {erasure.erasure_id})"
    )
    return erasure


def _table(erasure: Erasure, *, where: str) -> Table:
    table = Table(title=f"Erasure of customer {erasure.customer_id} ({where})")
    table.add_column("table")
    table.add_column("rows changed", justify="right")
    for name, count in sorted(erasure.row_counts.items(), key=lambda item: (-item[1], item[0])):
        if count:
            table.add_row(name, f"{count:,}")
    return table
