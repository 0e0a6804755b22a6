"""One asset per Pelcro entity, made by a factory over the registry: adding an entity to
`pelcro_sync.entities` adds its asset, with no code here."""

from typing import Any

import dagster as dg
from pydantic import Field

from dagster_project.defs.partitions import SITE_PARTITIONS
from dagster_project.defs.resources import PelcroResource, WarehouseResource, bad_setting
from pelcro_sync import dictionary
from pelcro_sync.entities import ENTITIES, Entity
from pelcro_sync.errors import (
    AuthError,
    ConfigError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from pelcro_sync.parsers import parse_duration
from pelcro_sync.pipeline import timebox
from pelcro_sync.pipeline.reconcile import DeleteSafetyError
from pelcro_sync.pipeline.runner import Task
from pelcro_sync.pipeline.sync import EntityResult, Mode, sync_entity
from pelcro_sync.transform import drift
from pelcro_sync.warehouse import queries
from pelcro_sync.warehouse.locks import SyncInProgressError

GROUP = "pelcro"
# Every asset draws on the one API budget of the account; cap concurrent steps with
# `dagster instance concurrency set pelcro_api N` (or `concurrency.pools` in dagster.yaml).
API_POOL = "pelcro_api"
# Transient failures (429 or 5xx after the client's own retries, timeouts, a dropped
# database connection) are retried; the next attempt resumes from the last committed page.
RETRY = dg.RetryPolicy(
    max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
# Retrying cannot fix these: fail the step at once. Another run holding the site's entity
# (e.g. the nightly reconcile still going when a fast run starts) is not retried either:
# the next tick comes soon, and a mass delete needs an operator.
PERMANENT = (
    AuthError,
    PermissionDeniedError,
    ConfigError,
    ValidationError,
    NotFoundError,
    SyncInProgressError,
    DeleteSafetyError,
)
# Run tag picking the mode: "fast" (the frequent schedule) or "full" (the reconcile scan,
# also what a run without the tag does, e.g. a materialization launched by hand).
MODE_TAG = "pelcro/mode"
MODES: tuple[Mode, ...] = ("fast", "full")


def run_mode(tags: dict[str, str]) -> Mode:
    """The mode a run's tags ask for; "full" when none."""
    value = tags.get(MODE_TAG, "full").strip().lower()
    for mode in MODES:
        if value == mode:
            return mode
    raise dg.Failure(description=f"run tag {MODE_TAG}={value!r}: use fast or full")


class SyncConfig(dg.Config):
    """Run config of an entity asset; the nightly reconcile schedule sets `time_limit`."""

    time_limit: str | None = Field(
        default=None,
        description="Stop full scans cleanly this long after the run started (90m, 6h), "
        "shared by every asset of the run; they resume next run. None: no limit.",
    )


def run_deadline(context: dg.AssetExecutionContext, config: SyncConfig) -> timebox.Deadline | None:
    """The run's deadline, counted from the run's start so that its steps share one however
    late each begins; a malformed `time_limit` fails the step without retries."""
    if not (config.time_limit or "").strip():
        return None
    try:
        limit = parse_duration("run config time_limit", config.time_limit or "")
    except ConfigError as exc:
        raise bad_setting(str(exc)) from None
    record = context.instance.get_run_record_by_id(context.run.run_id)
    started = record.start_time if record is not None else None
    return timebox.Deadline.after(limit, started=started)


_COLUMN_TYPES = {"json": "jsonb", "timestamp": "timestamptz"}


def asset_key(entity: Entity | str) -> dg.AssetKey:
    return dg.AssetKey([GROUP, entity if isinstance(entity, str) else entity.name])


def column_schema(entity: Entity) -> dg.TableSchema:
    about = dictionary.columns(entity)  # the data dictionary, also the warehouse's COMMENTs
    columns = [dg.TableColumn(c, "bigint", description=about[c]) for c in ("site_id", "id")]
    columns += [
        dg.TableColumn(f.name, _COLUMN_TYPES.get(f.kind, f.kind), description=about[f.name])
        for f in entity.fields
    ]
    columns += [
        dg.TableColumn("_raw", "jsonb", description=about["_raw"]),
        dg.TableColumn("_synced_at", "timestamptz", description=about["_synced_at"]),
        dg.TableColumn("_deleted_at", "timestamptz", description=about["_deleted_at"]),
        dg.TableColumn("_raw_hash", "bigint", description=about["_raw_hash"]),
    ]
    return dg.TableSchema(columns=columns)


def build_entity_asset(entity: Entity) -> dg.AssetsDefinition:
    """The asset syncing `entity` for one site partition into its warehouse table."""

    @dg.asset(
        key=asset_key(entity),
        group_name=GROUP,
        kinds={"postgres", "python"},
        pool=API_POOL,
        partitions_def=SITE_PARTITIONS,
        retry_policy=RETRY,
        description=f"Pelcro `{entity.name}` (GET {entity.path}), one partition per site, "
        f"upserted into the warehouse table `{entity.name}` keyed by (site_id, id).",
        metadata={"dagster/column_schema": column_schema(entity), "api_path": entity.path},
        # Lineage from the registry's references. In one run this also orders the steps (a
        # referenced entity first), and a failed one skips those that reference it.
        deps=[asset_key(target) for target in dict.fromkeys(t for _, t in entity.references)],
    )
    def _sync(
        context: dg.AssetExecutionContext,
        config: SyncConfig,
        pelcro: PelcroResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        site_id = int(context.partition_key)
        mode = run_mode(dict(context.run.tags))
        deadline = run_deadline(context, config)
        if deadline is not None and deadline.expired():  # as the CLI: its turn came too late
            result = timebox.not_started(Task(entity, site_id), warehouse=warehouse.warehouse)
            return dg.MaterializeResult(metadata=result_metadata(result, entity, warehouse))
        try:
            with pelcro.get_client(site_id=site_id) as client:
                result = sync_entity(
                    client,
                    warehouse=warehouse.warehouse,
                    entity=entity,
                    site_id=site_id,
                    mode=mode,
                    deadline=deadline,
                )
        except PERMANENT as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        if line := timebox.progress_line(result):
            context.log.info(line)
        return dg.MaterializeResult(metadata=result_metadata(result, entity, warehouse))

    return _sync


def result_metadata(
    result: EntityResult, entity: Entity, warehouse: WarehouseResource
) -> dict[str, Any]:
    """What one sync did, the rows the site now has, and a small preview (no secrets, no PII)."""
    wh = warehouse.warehouse
    with wh.connect() as conn:
        rows = queries.live_rows(conn, warehouse=wh, entity=entity, site_id=result.site_id)
        preview = queries.preview_rows(conn, warehouse=wh, entity=entity, site_id=result.site_id)
    return {
        "dagster/row_count": rows,
        "dagster/table_name": f"{wh.schema}.{entity.name}",
        "site_id": result.site_id,
        "sync_run_id": result.run_id,
        "mode": result.mode,
        "status": result.status,
        "note": result.note or "",
        "records_read": result.records_read,
        "api_total": result.api_total,
        "pages": result.pages,
        "inserted": result.inserted,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "deleted": result.deleted,
        "delete_candidates": result.delete_candidates,
        "confirm_gets": result.confirm_gets,
        "dropped": result.dropped,
        "type_errors": sum(result.type_errors.values()),
        "type_errors_by_field": dict(result.type_errors),
        **drift.metadata(result.drift, result.type_errors),
        "requests": result.requests,
        "throttled_429": result.throttled,
        "retries": result.retries,
        "duration_s": round(result.duration_s, 3),
        "resumed_from_page": result.resumed_from_page,
        # A scan the run's time limit stopped (or never let start): how far it got.
        "stopped_at_page": result.stopped_at_page,
        "scanned_share": scanned_share(result),
        "progress": timebox.progress_line(result) or "",
        "preview": dg.MetadataValue.md(preview_markdown(queries.preview_columns(entity), preview)),
    }


def scanned_share(result: EntityResult) -> float | None:
    """Share of the entity's pages its reconcile scan has read: 1.0 once complete, less when
    the time limit stopped it (None: not a full scan, or no total to size it by)."""
    if result.mode != "full" or result.status not in ("succeeded", "deferred"):
        return None
    if result.status == "succeeded" and result.stopped_at_page is None:
        return 1.0
    return timebox.scanned_share(result)


def preview_markdown(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    """A markdown table of a few rows, cells cut short and kept on one line."""
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return str(value).replace("|", "\\|").replace("\n", " ")[:40]


ENTITY_ASSETS: list[dg.AssetsDefinition] = [build_entity_asset(e) for e in ENTITIES]
