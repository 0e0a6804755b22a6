"""Read-only warehouse queries behind asset metadata and asset checks.

Identifiers come from the entity registry and a validated schema name, never from input.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, text

from pelcro_sync.entities import Entity

# Text columns that hold personal data: kept out of the preview in the Dagster event log.
PII_FIELDS = frozenset(
    [
        "email",
        "first_name",
        "last_name",
        "name",
        "display_name",
        "username",
        "phone",
        "tin",
        "line1",
        "line2",
        "postal_code",
        "invitation_email",
        "gift_code",
    ]
)
PREVIEW_ROWS = 5
PREVIEW_COLUMNS = 6


def live_rows(conn: Connection, *, schema: str, table: str, site_id: int) -> int:
    """Rows of one site not marked deleted."""
    sql = f'SELECT count(*) FROM "{schema}"."{table}" WHERE site_id = :s AND _deleted_at IS NULL'
    return int(conn.execute(text(sql), {"s": site_id}).scalar_one())


def preview_columns(entity: Entity) -> list[str]:
    """A few scalar, non-personal columns: enough to recognise the data."""
    scalar = [f.name for f in entity.fields if f.kind != "json" and f.name not in PII_FIELDS]
    return ["id", *scalar[: PREVIEW_COLUMNS - 1]]


def preview_markdown(conn: Connection, *, schema: str, entity: Entity, site_id: int) -> str:
    """A markdown table of the site's newest rows."""
    cols = preview_columns(entity)
    quoted = ", ".join(f'"{c}"' for c in cols)
    sql = (
        f'SELECT {quoted} FROM "{schema}"."{entity.name}" WHERE site_id = :s '
        f"ORDER BY id DESC LIMIT {PREVIEW_ROWS}"
    )
    rows = conn.execute(text(sql), {"s": site_id}).all()
    lines = ["| " + " | ".join(cols) + " |", "|" + " --- |" * len(cols)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return str(value).replace("|", "\\|").replace("\n", " ")[:40]


def duplicate_keys(conn: Connection, *, schema: str, table: str, sites: Sequence[int]) -> int:
    """(site_id, id) pairs held by more than one row; 0 unless the primary key is gone."""
    sql = text(
        f'SELECT count(*) FROM (SELECT 1 FROM "{schema}"."{table}" WHERE site_id IN :sites '
        "GROUP BY site_id, id HAVING count(*) > 1) d"
    ).bindparams(bindparam("sites", expanding=True))
    return int(conn.execute(sql, {"sites": list(sites)}).scalar_one())


def unresolved_references(
    conn: Connection, *, schema: str, table: str, column: str, target: str, sites: Sequence[int]
) -> int:
    """Live rows whose `column` names an id absent from `target` on the same site."""
    sql = text(
        f'SELECT count(*) FROM "{schema}"."{table}" c WHERE c.site_id IN :sites '
        f'AND c._deleted_at IS NULL AND c."{column}" IS NOT NULL AND NOT EXISTS ('
        f'SELECT 1 FROM "{schema}"."{target}" p WHERE p.site_id = c.site_id '
        f'AND p.id = c."{column}")'
    ).bindparams(bindparam("sites", expanding=True))
    return int(conn.execute(sql, {"sites": list(sites)}).scalar_one())


def scanned_sites(conn: Connection, *, schema: str, entity: str) -> dict[int, int | None]:
    """site_id -> API `meta.total` at the last complete scan, for every site synced so far."""
    sql = text(
        f'SELECT site_id, last_complete_scan_total FROM "{schema}"."_sync_state" '
        "WHERE entity = :e ORDER BY site_id"
    )
    return {int(s): t for s, t in conn.execute(sql, {"e": entity}).all()}


def changed_since_scan(conn: Connection, *, schema: str, entity: str, site_id: int) -> bool:
    """Whether rows of the site changed after its last complete scan (a fast run, a webhook):
    then the API's total at that scan is no longer an exact expectation."""
    sql = text(
        f'SELECT EXISTS (SELECT 1 FROM "{schema}"."{entity}" t WHERE t.site_id = :s AND '
        f't._synced_at > (SELECT last_complete_scan_at FROM "{schema}"."_sync_state" '
        "WHERE site_id = :s AND entity = :e))"
    )
    return bool(conn.execute(sql, {"s": site_id, "e": entity}).scalar_one())
