"""Asset checks on every entity table, made by a factory over the registry.

The checks are not partitioned (partitioned checks are still a preview in Dagster 1.13): in a
run for one site they look at that site, otherwise at every site synced so far.
"""

from collections.abc import Sequence

import dagster as dg
from sqlalchemy import Connection

from dagster_project.defs.assets import asset_key
from dagster_project.defs.resources import WarehouseResource
from pelcro_sync.entities import ENTITIES, Entity, get_entity
from pelcro_sync.warehouse import queries
from pelcro_sync.warehouse.warehouse import Warehouse

# (table, column) -> the table whose id it names. Reported, not fatal: Pelcro itself can
# hold references to records of another site or long gone.
REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "subscriptions": (("user_id", "customers"), ("plan", "plans")),
    "invoices": (("customer", "customers"),),
    "charges": (("invoice_id", "invoices"),),
}


def _sites(
    context: dg.AssetCheckExecutionContext,
    conn: Connection,
    *,
    warehouse: Warehouse,
    entity: Entity,
) -> list[int]:
    """The run's site partition when it has one, else every site synced so far."""
    partition = context.run.tags.get("dagster/partition")
    if partition is not None:
        return [int(partition)]
    return sorted(queries.scanned_sites(conn, warehouse=warehouse, entity=entity))


def build_entity_checks(entity: Entity) -> list[dg.AssetChecksDefinition]:
    """Primary key, row count against the API, and references for one entity."""
    key = asset_key(entity)

    @dg.asset_check(
        asset=key,
        name="primary_key_unique",
        description="No two rows share (site_id, id).",
    )
    def primary_key_unique(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        wh = warehouse.warehouse
        with wh.connect() as conn:
            sites = _sites(context, conn, warehouse=wh, entity=entity)
            dupes = (
                queries.duplicate_keys(conn, warehouse=wh, entity=entity, sites=sites)
                if sites
                else 0
            )
        return dg.AssetCheckResult(
            passed=dupes == 0, metadata={"duplicate_keys": dupes, "sites": _label(sites)}
        )

    @dg.asset_check(
        asset=key,
        name="row_count_matches_api",
        description="Rows not deleted, per site, equal the API's meta.total at the last "
        "complete scan.",
    )
    def row_count_matches_api(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        wh = warehouse.warehouse
        with wh.connect() as conn:
            totals = queries.scanned_sites(conn, warehouse=wh, entity=entity)
            sites = _sites(context, conn, warehouse=wh, entity=entity)
            rows = {
                s: queries.live_rows(conn, warehouse=wh, entity=entity, site_id=s) for s in sites
            }
            mismatched = {
                str(s): {"rows": rows[s], "api_total": totals.get(s)}
                for s in sites
                if totals.get(s) != rows[s]
            }
            # A fast run or a webhook since the scan moves the count legitimately: warn, and
            # let the next reconcile scan decide.
            moved = any(
                queries.changed_since_scan(conn, warehouse=wh, entity=entity, site_id=int(s))
                for s in mismatched
            )
        return dg.AssetCheckResult(
            passed=not mismatched,
            severity=dg.AssetCheckSeverity.WARN if moved else dg.AssetCheckSeverity.ERROR,
            description="rows changed since the last complete scan" if moved else None,
            metadata={
                "rows": sum(rows.values()),
                "api_total": sum(t or 0 for s, t in totals.items() if s in rows),
                "mismatched_sites": mismatched,
                "sites": _label(sites),
            },
        )

    checks = [primary_key_unique, row_count_matches_api]
    checks += [
        _reference_check(entity, col, target) for col, target in REFERENCES.get(entity.name, ())
    ]
    return checks


def _reference_check(entity: Entity, column: str, target: str) -> dg.AssetChecksDefinition:
    # Depending on the target asset orders this check after it when both are in one run.
    @dg.asset_check(
        asset=asset_key(entity),
        name=f"{column}_resolves_to_{target}",
        description=f"Every `{entity.name}.{column}` names a row of `{target}` on the same site.",
        additional_deps=[asset_key(target)],
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        wh = warehouse.warehouse
        with wh.connect() as conn:
            sites = _sites(context, conn, warehouse=wh, entity=entity)
            missing = (
                queries.unresolved_references(
                    conn,
                    warehouse=wh,
                    entity=entity,
                    column=column,
                    target=get_entity(target),
                    sites=sites,
                )
                if sites
                else 0
            )
        return dg.AssetCheckResult(
            passed=missing == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"unresolved": missing, "sites": _label(sites)},
        )

    return _check


def _label(sites: Sequence[int]) -> str:
    return ", ".join(str(s) for s in sites) or "none synced yet"


ENTITY_CHECKS: list[dg.AssetChecksDefinition] = [
    check for entity in ENTITIES for check in build_entity_checks(entity)
]
