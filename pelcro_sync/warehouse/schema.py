"""Warehouse tables: one per entity, built from the registry, plus the internal sync state."""

from sqlalchemy import (
    ARRAY,
    TIMESTAMP,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

from pelcro_sync.entities import ENTITIES, Entity, Kind

COLUMN_TYPES: dict[Kind, type[TypeEngine] | TypeEngine] = {
    "bigint": BigInteger,
    "numeric": Numeric,
    "text": Text,
    "boolean": Boolean,
    "timestamp": TIMESTAMP(timezone=True),
    "json": JSONB,
}

# A leading underscore tells analysts these are pelcro-sync's bookkeeping, not Pelcro data.
SYNC_RUNS = "_sync_runs"
SYNC_STATE = "_sync_state"
SCAN_SEEN = "_scan_seen"
DELETE_CANDIDATES = "_delete_candidates"
WEBHOOK_EVENTS = "_webhook_events"
WEBHOOK_APPLIED = "_webhook_applied"
ERASURES = "_erasures"
RUN_STATUSES = ("running", "succeeded", "failed")
RUN_COUNTS = (
    "records_read",
    "inserted",
    "updated",
    "unchanged",
    "deleted",
    "requests",
    "retries",
    "throttled",
)

TIMESTAMPTZ = TIMESTAMP(timezone=True)


def entity_table(metadata: MetaData, entity: Entity) -> Table:
    """The warehouse table of one entity, declared on `metadata` (whose schema it takes)."""
    name = entity.name
    return Table(
        name,
        metadata,
        Column("site_id", BigInteger, nullable=False, comment="site the record was read through"),
        Column("id", BigInteger, nullable=False, comment="Pelcro's id"),
        *(Column(f.name, COLUMN_TYPES[f.kind], nullable=True) for f in entity.fields),
        Column("_raw", JSONB, nullable=False, comment="the record exactly as the API sent it"),
        Column("_synced_at", TIMESTAMPTZ, nullable=False),
        Column("_deleted_at", TIMESTAMPTZ, nullable=True),
        Column("_raw_hash", BigInteger, nullable=True, comment="hash of _raw (transform.raw_hash)"),
        PrimaryKeyConstraint("site_id", "id", name=f"{name}_pkey"),
        *(Index(f"ix_{name}_{col}", col) for col in entity.indexes),
    )


def history_table(metadata: MetaData, entity: Entity) -> Table:
    """`<entity>_history`: every version of each record, append-only; at most one open."""
    name = history_name(entity)
    return Table(
        name,
        metadata,
        Column("site_id", BigInteger, nullable=False, comment="site the record was read through"),
        Column("id", BigInteger, nullable=False, comment="Pelcro's id"),
        Column("_valid_from", TIMESTAMPTZ, nullable=False, comment="when this version was seen"),
        Column("_valid_to", TIMESTAMPTZ, nullable=True, comment="when replaced; null = current"),
        *(Column(f.name, COLUMN_TYPES[f.kind], nullable=True) for f in entity.fields),
        Column("_raw", JSONB, nullable=False, comment="the record as the API sent this version"),
        PrimaryKeyConstraint("site_id", "id", "_valid_from", name=f"{name}_pkey"),
        # The merge finds the version to close through this index; it also forbids two open.
        Index(
            f"ux_{name}_open",
            "site_id",
            "id",
            unique=True,
            postgresql_where=text("_valid_to IS NULL"),
        ),
    )


def history_name(entity: Entity) -> str:
    """The history table's name for `entity`."""
    return f"{entity.name}_history"


def sync_runs_table(metadata: MetaData) -> Table:
    """One row per sync of one entity on one site: its outcome and its counts."""
    statuses = ", ".join(f"'{s}'" for s in RUN_STATUSES)
    return Table(
        SYNC_RUNS,
        metadata,
        Column("run_id", Uuid(as_uuid=False), primary_key=True),
        Column("site_id", BigInteger, nullable=False),
        Column("entity", Text, nullable=False),
        Column("mode", Text, nullable=False, comment="full, incremental, scan, ..."),
        Column("started_at", TIMESTAMPTZ, nullable=False),
        Column("finished_at", TIMESTAMPTZ, nullable=True),
        Column("status", Text, nullable=False),
        *(Column(c, BigInteger, nullable=False, server_default=text("0")) for c in RUN_COUNTS),
        Column("type_errors", JSONB, nullable=True, comment="field -> values that did not cast"),
        Column("error", Text, nullable=True, comment="one-line reason, secrets redacted"),
        Column("host", Text, nullable=True),
        Column("pid", Integer, nullable=True, comment="process that ran it, to spot dead runs"),
        CheckConstraint(f"status in ({statuses})", name="ck__sync_runs_status"),
        Index("ix__sync_runs_site_id_entity_started_at", "site_id", "entity", "started_at"),
        Index("ix__sync_runs_status", "status"),
    )


def sync_state_table(metadata: MetaData) -> Table:
    """Per site and entity: the last complete scan and the progress of the one in flight."""
    return Table(
        SYNC_STATE,
        metadata,
        Column("site_id", BigInteger, nullable=False),
        Column("entity", Text, nullable=False),
        Column("last_complete_scan_at", TIMESTAMPTZ, nullable=True),
        Column("last_complete_scan_total", BigInteger, nullable=True, comment="API meta.total"),
        Column("scan_started_at", TIMESTAMPTZ, nullable=True),
        Column("scan_run_id", Uuid(as_uuid=False), nullable=True),
        Column("scan_next_page", Integer, nullable=True, comment="next page of the scan in flight"),
        Column("scan_sort", Text, nullable=True),
        Column("max_id_seen", BigInteger, nullable=True),
        Column("last_success_at", TIMESTAMPTZ, nullable=True),
        Column("updated_at", TIMESTAMPTZ, nullable=False),
        Column(
            "drift_baseline",
            JSONB,
            nullable=True,
            comment="undeclared and absent fields already reported: {new: [...], missing: [...]}",
        ),
        PrimaryKeyConstraint("site_id", "entity", name="_sync_state_pkey"),
    )


def scan_seen_table(metadata: MetaData) -> Table:
    """The ids the scan in flight has read, per site and entity: kept in Postgres, not in
    memory, so a million records cost no RAM and a resumed scan still knows what it saw."""
    return Table(
        SCAN_SEEN,
        metadata,
        Column("site_id", BigInteger, nullable=False),
        Column("entity", Text, nullable=False),
        Column("id", BigInteger, nullable=False),
        PrimaryKeyConstraint("site_id", "entity", "id", name="_scan_seen_pkey"),
    )


def delete_candidates_table(metadata: MetaData) -> Table:
    """Live rows a complete scan did not see, waiting for confirmation before `_deleted_at`."""
    return Table(
        DELETE_CANDIDATES,
        metadata,
        Column("site_id", BigInteger, nullable=False),
        Column("entity", Text, nullable=False),
        Column("id", BigInteger, nullable=False),
        Column("first_missed_at", TIMESTAMPTZ, nullable=False),
        Column(
            "misses",
            Integer,
            nullable=False,
            server_default=text("1"),
            comment="complete scans in a row that did not see the record",
        ),
        PrimaryKeyConstraint("site_id", "entity", "id", name="_delete_candidates_pkey"),
    )


def webhook_events_table(metadata: MetaData) -> Table:
    """Every webhook delivery, stored once by event id before the receiver answers 2xx."""
    return Table(
        WEBHOOK_EVENTS,
        metadata,
        Column("event_id", Text, nullable=False, comment="Pelcro's evt_... id"),
        Column("type", Text, nullable=False),
        Column("created_at", TIMESTAMPTZ, nullable=False, comment="the envelope's `created`"),
        Column("received_at", TIMESTAMPTZ, nullable=False),
        Column("entity", Text, nullable=True, comment="entity table the type concerns"),
        Column("site_id", BigInteger, nullable=True, comment="object's site_id or site_ids[0]"),
        Column("object_id", BigInteger, nullable=True),
        Column("payload", JSONB, nullable=False, comment="the envelope as delivered"),
        Column("applied_at", TIMESTAMPTZ, nullable=True),
        Column("apply_note", Text, nullable=True, comment="applied, stale, unknown type, ..."),
        Column("apply_error", Text, nullable=True, comment="one-line reason it could not apply"),
        PrimaryKeyConstraint("event_id", name="_webhook_events_pkey"),
        Index("ix__webhook_events_applied_at_created_at", "applied_at", "created_at"),
        Index("ix__webhook_events_entity_object_id", "entity", "object_id"),
    )


def webhook_applied_table(metadata: MetaData) -> Table:
    """Per site, entity and object: the newest event applied, so an older one never wins."""
    return Table(
        WEBHOOK_APPLIED,
        metadata,
        Column("site_id", BigInteger, nullable=False),
        Column("entity", Text, nullable=False),
        Column("object_id", BigInteger, nullable=False),
        Column("last_event_created", TIMESTAMPTZ, nullable=False),
        Column("last_event_id", Text, nullable=False),
        PrimaryKeyConstraint("site_id", "entity", "object_id", name="_webhook_applied_pkey"),
    )


def erasures_table(metadata: MetaData) -> Table:
    """One row per `pelcro-sync forget`: whose data was erased, by whom, when, and where."""
    return Table(
        ERASURES,
        metadata,
        Column("erasure_id", Uuid(as_uuid=False), nullable=False),
        Column("customer_id", BigInteger, nullable=False),
        Column("site_id", BigInteger, nullable=True, comment="null: every site"),
        Column("sites", ARRAY(BigInteger), nullable=False, comment="sites the customer was on"),
        Column("erased_at", TIMESTAMPTZ, nullable=False, server_default=text("now()")),
        Column("erased_by", Text, nullable=False),
        Column("database_role", Text, nullable=False),
        Column("row_counts", JSONB, nullable=False, comment="table -> rows changed"),
        Column("rows_changed", BigInteger, nullable=False),
        PrimaryKeyConstraint("erasure_id", name="_erasures_pkey"),
        Index("ix__erasures_customer_id", "customer_id"),
    )


def build_metadata(schema: str) -> MetaData:
    """All warehouse tables in `schema`: the migrations' target and `alembic check`'s truth."""
    metadata = MetaData(schema=schema)
    for entity in ENTITIES:
        entity_table(metadata, entity)
        history_table(metadata, entity)
    sync_runs_table(metadata)
    sync_state_table(metadata)
    scan_seen_table(metadata)
    delete_candidates_table(metadata)
    webhook_events_table(metadata)
    webhook_applied_table(metadata)
    erasures_table(metadata)
    return metadata
