"""Asset checks on every entity table, made by a factory over the registry.

Every check evaluates every site, whichever run it is in, and names the failing ones in its
description and metadata. A check result carries no partition (partitioned checks are a
preview in Dagster 1.13, and the UI shows one latest result per check), so a check that
looked only at the site a run just synced would let that site's pass hide another site's
failure until the failing site synced again. The price: each check reads the whole table
(one grouped query) instead of one site's rows.
"""

from collections.abc import Mapping

import dagster as dg

from dagster_project.defs.assets import asset_key
from dagster_project.defs.resources import WarehouseResource
from pelcro_sync.entities import ENTITIES, Entity, get_entity
from pelcro_sync.warehouse import queries

# (table, column) -> the table whose id it names. Reported, not fatal: Pelcro itself can
# hold references to records of another site or long gone.
REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "subscriptions": (("user_id", "customers"), ("plan", "plans")),
    "invoices": (("customer", "customers"),),
    "charges": (("invoice_id", "invoices"),),
}


def build_entity_checks(entity: Entity) -> list[dg.AssetChecksDefinition]:
    """Primary key, row count against the API, and references for one entity."""
    key = asset_key(entity)

    @dg.asset_check(
        asset=key,
        name="primary_key_unique",
        description="No two rows share (site_id, id), on any site.",
    )
    def primary_key_unique(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        wh = warehouse.warehouse
        with wh.connect() as conn:
            sites = queries.scanned_sites(conn, warehouse=wh, entity=entity)
            dupes = queries.duplicate_keys(conn, warehouse=wh, entity=entity)
        return dg.AssetCheckResult(
            passed=not dupes,
            description=failing("duplicate keys", {s: f"{n} keys" for s, n in dupes.items()}),
            metadata={
                "duplicate_keys": sum(dupes.values()),
                **site_metadata(dupes, checked=sites),
            },
        )

    @dg.asset_check(
        asset=key,
        name="row_count_matches_api",
        description="On every site, rows not deleted equal the API's meta.total at the site's "
        "last complete scan.",
    )
    def row_count_matches_api(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        wh = warehouse.warehouse
        with wh.connect() as conn:
            # A site whose first scan never completed has no expectation yet (see `fresh`).
            totals = {
                s: t
                for s, t in queries.scanned_sites(conn, warehouse=wh, entity=entity).items()
                if t is not None
            }
            rows = queries.live_rows_by_site(conn, warehouse=wh, entity=entity)
            mismatched = {s: t for s, t in totals.items() if rows.get(s, 0) != t}
            # A fast run or a webhook since the scan moves the count legitimately: warn, and
            # let the next reconcile scan decide. One site that did not move is an error.
            moved = {
                s
                for s in mismatched
                if queries.changed_since_scan(conn, warehouse=wh, entity=entity, site_id=s)
            }
        details = {
            s: f"{rows.get(s, 0)} rows, API {t}{' (changed since)' if s in moved else ''}"
            for s, t in mismatched.items()
        }
        return dg.AssetCheckResult(
            passed=not mismatched,
            severity=dg.AssetCheckSeverity.WARN
            if mismatched and moved == set(mismatched)
            else dg.AssetCheckSeverity.ERROR,
            description=failing("row count differs from the API's", details),
            metadata={
                "rows": sum(rows.get(s, 0) for s in totals),
                "api_total": sum(totals.values()),
                "mismatched_sites": {
                    str(s): {"rows": rows.get(s, 0), "api_total": t, "changed_since": s in moved}
                    for s, t in mismatched.items()
                },
                **site_metadata(details, checked=totals),
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
        description=f"Every `{entity.name}.{column}` names a row of `{target}` on the same site, "
        "on every site.",
        additional_deps=[asset_key(target)],
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        wh = warehouse.warehouse
        with wh.connect() as conn:
            sites = queries.scanned_sites(conn, warehouse=wh, entity=entity)
            missing = queries.unresolved_references(
                conn, warehouse=wh, entity=entity, column=column, target=get_entity(target)
            )
        return dg.AssetCheckResult(
            passed=not missing,
            severity=dg.AssetCheckSeverity.WARN,
            description=failing(
                f"unresolved {column}", {s: f"{n} rows" for s, n in missing.items()}
            ),
            metadata={
                "unresolved": sum(missing.values()),
                **site_metadata(missing, checked=sites),
            },
        )

    return _check


def failing(what: str, details: Mapping[int, str]) -> str | None:
    """`what on site 11 (2 keys), site 12 (...)`, or None when no site fails."""
    if not details:
        return None
    return f"{what} on " + ", ".join(f"site {s} ({d})" for s, d in sorted(details.items()))


def site_metadata(failing: Mapping[int, object], *, checked: Mapping[int, object]) -> dict:
    """The failing sites (a list to filter on), each site's count, and every site looked at."""
    return {
        "failing_sites": sorted(failing),
        "by_site": {str(s): v for s, v in sorted(failing.items())},
        "sites": ", ".join(str(s) for s in sorted({*checked, *failing})) or "none synced yet",
    }


ENTITY_CHECKS: list[dg.AssetChecksDefinition] = [
    check for entity in ENTITIES for check in build_entity_checks(entity)
]
