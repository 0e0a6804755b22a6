"""Delete detection for a complete scan: ids seen -> candidates -> confirmed -> `_deleted_at`.

A scan knows what it saw without holding ids in memory, and across a resume: a row it
wrote carries a `_synced_at` from after the scan started, and the ids of rows it left
unchanged go to `_scan_seen` in the same transaction (`upsert_batch(track_seen=True)`).
Only a scan that reached its last page may name candidates: the live rows it did not
see. Offset pagination skips records when others are deleted mid-scan, so a candidate is
only marked once confirmed gone: `GET /<entity>/{id}` answers 404, or (entities without a
documented GET by id) a second complete scan missed it too.
"""

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from pelcro_sync.api.client import PelcroClient
from pelcro_sync.entities import Entity
from pelcro_sync.errors import NotFoundError, PelcroSyncError
from pelcro_sync.transform.normalize import normalize
from pelcro_sync.warehouse import history
from pelcro_sync.warehouse.upsert import mark_deleted, upsert_batch

log = logging.getLogger(__name__)

DEFAULT_MAX_DELETE_SHARE = 0.10
# Deleting this many rows is never blocked: one plan out of five is 20 %, and routine.
ALWAYS_ALLOWED_DELETES = 10
DEFAULT_MAX_CONFIRM_GETS = 200  # per entity and run; the rest wait for the next scan
# entities.md documents no `GET /<entity>/{id}` for these: a second complete scan confirms.
NO_GET_BY_ID = frozenset({"refunds", "sources", "organizations", "vendors"})
MISSES_TO_CONFIRM = 2
_INFINITY = datetime.max.replace(tzinfo=UTC)  # a scan that wrote nothing saw nothing


class DeleteSafetyError(PelcroSyncError):
    """Too many rows would be marked deleted at once: stop for an operator to look."""


@dataclass(frozen=True)
class DeletePolicy:
    """How cautious delete detection is: share of live rows, GETs spent confirming."""

    max_share: float = DEFAULT_MAX_DELETE_SHARE
    max_confirm_gets: int = DEFAULT_MAX_CONFIRM_GETS

    @classmethod
    def from_env(cls, max_share: float | None = None) -> "DeletePolicy":
        """`max_share` when given, else PELCRO_MAX_DELETE_SHARE, else 10 %."""
        if max_share is None:
            raw = os.environ.get("PELCRO_MAX_DELETE_SHARE", "").strip()
            max_share = float(raw) if raw else DEFAULT_MAX_DELETE_SHARE
        if not 0 <= max_share <= 1:
            raise PelcroSyncError(f"max delete share must be between 0 and 1, not {max_share}")
        return cls(max_share=max_share)


@dataclass
class DeleteOutcome:
    candidates: int = 0
    confirm_gets: int = 0
    marked: int = 0
    came_back: int = 0


def _q(schema: str, table: str) -> str:
    return f'"{schema}"."{table}"'


def clear_seen(conn: Connection, *, schema: str, site_id: int, entity: str) -> None:
    """Forget the previous scan's seen ids: called with the first page of a new scan."""
    conn.execute(
        text(f"delete from {_q(schema, '_scan_seen')} where site_id = :s and entity = :e"),
        {"s": site_id, "e": entity},
    )


def register_candidates(conn: Connection, *, schema: str, site_id: int, entity: Entity,
                        since: datetime | None) -> bool:  # fmt: skip
    """After a complete scan that started at `since` (None: wrote nothing): live rows it
    did not see become (or stay) candidates; the other candidates are dropped. False when
    the scan wrote every live row (a first load), so that there is no candidate."""
    cand, seen, table = (_q(schema, "_delete_candidates"), _q(schema, "_scan_seen"),
                         _q(schema, entity.name))  # fmt: skip
    params = {"s": site_id, "e": entity.name, "since": since or _INFINITY}
    # Live rows the scan did not write (those it wrote are synced since it started) ...
    older = "t.site_id = :s and t._deleted_at is null and t._synced_at < :since"
    # ... and, of those, the ones it did not see unchanged either.
    unseen = (
        f"{older} and not exists (select 1 from {seen} x"
        " where x.site_id = :s and x.entity = :e and x.id = t.id)"
    )
    any_older = text(f"select exists (select 1 from {table} t where {older})")
    if not conn.execute(any_older, params).scalar_one():
        # the scan wrote every live row (a first load): none can be a candidate
        conn.execute(text(f"delete from {cand} where site_id = :s and entity = :e"), params)
        return False
    # Both tables were just filled: without fresh statistics the planner picks a nested
    # loop for the anti-joins below, quadratic in the rows (12 s against 8 ms at 12k rows).
    conn.execute(text(f"analyze {seen}, {table}"))
    conn.execute(
        text(
            f"delete from {cand} c where c.site_id = :s and c.entity = :e and not exists ("
            f" select 1 from {table} t where t.id = c.id and {unseen})"
        ),
        params,
    )
    conn.execute(
        text(
            f"insert into {cand} (site_id, entity, id, first_missed_at, misses)"
            f" select :s, :e, t.id, now(), 1 from {table} t where {unseen}"
            " on conflict (site_id, entity, id)"
            f" do update set misses = excluded.misses + {cand}.misses"
        ),
        params,
    )
    return True


def counts(conn: Connection, *, schema: str, site_id: int, entity: str) -> tuple[int, int]:
    """(candidates, live rows) of one site's entity."""
    row = conn.execute(
        text(
            f"select (select count(*) from {_q(schema, '_delete_candidates')}"
            "  where site_id = :s and entity = :e),"
            f" (select count(*) from {_q(schema, entity)} where site_id = :s"
            "  and _deleted_at is null)"
        ),
        {"s": site_id, "e": entity},
    ).one()
    return int(row[0]), int(row[1])


def check_share(*, entity: str, site_id: int, candidates: int, live: int, max_share: float) -> None:
    """Raise DeleteSafetyError when the candidates are too large a share of the live rows."""
    if candidates <= ALWAYS_ALLOWED_DELETES or candidates <= max_share * live:
        return
    raise DeleteSafetyError(
        f"{entity} of site {site_id}: {candidates} of {live} live rows "
        f"({candidates / max(live, 1):.0%}) vanished from the API, more than the "
        f"{max_share:.0%} allowed at once; nothing was marked deleted. Check the API, then "
        "rerun with --max-delete-share (or PELCRO_MAX_DELETE_SHARE) raised to allow it"
    )


def detect_deletes(
    client: PelcroClient,
    *,
    engine: Engine,
    entity: Entity,
    site_id: int,
    schema: str,
    policy: DeletePolicy,
    since: datetime | None,
) -> DeleteOutcome:
    """Confirm the candidates of the scan just completed (started at `since`) and mark
    the confirmed ones.

    Raises:
        DeleteSafetyError: more would be marked than `policy.max_share` allows; none is.
    """
    by_get = entity.name not in NO_GET_BY_ID
    with engine.begin() as conn:
        if not register_candidates(conn, schema=schema, site_id=site_id, entity=entity,
                                   since=since):  # fmt: skip
            return DeleteOutcome()  # nothing to count (a count of a large first load: ~20 ms)
        candidates, live = counts(conn, schema=schema, site_id=site_id, entity=entity.name)
        ready = candidates if by_get else _missed_twice(conn, schema, site_id, entity.name)
    outcome = DeleteOutcome(candidates=candidates)
    if not ready:
        return outcome
    check_share(entity=entity.name, site_id=site_id, candidates=ready, live=live,
                max_share=policy.max_share)  # fmt: skip
    if not by_get:
        with engine.begin() as conn:
            outcome.marked = _mark_missed_twice(conn, schema, site_id, entity.name)
        return outcome
    with engine.connect() as conn:
        ids = _candidate_ids(conn, schema, site_id, entity.name, limit=policy.max_confirm_gets)
    gone, back = _confirm(client, entity=entity, site_id=site_id, ids=ids)
    outcome.confirm_gets, outcome.came_back = len(ids), len(back)
    with engine.begin() as conn:
        outcome.marked = mark_deleted(conn, entity=entity, site_id=site_id, ids=gone,
                                      schema=schema)  # fmt: skip
        if back:  # it moved between pages while the scan ran: keep it current
            upsert_batch(conn, entity=entity, site_id=site_id, batch=normalize(entity, back),
                         schema=schema)  # fmt: skip
        _drop_candidates(conn, schema, site_id, entity.name, ids)
    if len(ids) < candidates:
        log.info("%s site %s: %s candidates left for the next scan (GET cap %s)",
                 entity.name, site_id, candidates - len(ids), policy.max_confirm_gets)  # fmt: skip
    return outcome


def _confirm(
    client: PelcroClient, *, entity: Entity, site_id: int, ids: list[int]
) -> tuple[list[int], list[dict[str, Any]]]:
    """(ids the API answers 404 for, records it still returns)."""
    gone: list[int] = []
    back: list[dict[str, Any]] = []
    for record_id in ids:
        try:
            back.append(client.get(entity, site_id, record_id))
        except NotFoundError:
            gone.append(record_id)
    return gone, back


def _candidate_ids(conn: Connection, schema: str, site_id: int, entity: str, *, limit: int
                   ) -> list[int]:  # fmt: skip
    rows = conn.execute(
        text(
            f"select id from {_q(schema, '_delete_candidates')} where site_id = :s"
            " and entity = :e order by id limit :n"
        ),
        {"s": site_id, "e": entity, "n": limit},
    )
    return [int(r[0]) for r in rows]


def _drop_candidates(conn: Connection, schema: str, site_id: int, entity: str, ids: list[int]
                     ) -> None:  # fmt: skip
    conn.execute(
        text(
            f"delete from {_q(schema, '_delete_candidates')} where site_id = :s and entity = :e"
            " and id = any(cast(:ids as bigint[]))"
        ),
        {"s": site_id, "e": entity, "ids": ids},
    )


def _missed_twice(conn: Connection, schema: str, site_id: int, entity: str) -> int:
    return int(
        conn.execute(
            text(
                f"select count(*) from {_q(schema, '_delete_candidates')} where site_id = :s"
                " and entity = :e and misses >= :m"
            ),
            {"s": site_id, "e": entity, "m": MISSES_TO_CONFIRM},
        ).scalar_one()
    )


def _mark_missed_twice(conn: Connection, schema: str, site_id: int, entity: str) -> int:
    """Mark, in SQL (no ids in memory), the candidates two complete scans in a row missed."""
    cand = _q(schema, "_delete_candidates")
    params = {"s": site_id, "e": entity, "m": MISSES_TO_CONFIRM}
    marked = [r[0] for r in conn.execute(
        text(
            f"update {_q(schema, entity)} t set _deleted_at = now() from {cand} c"
            " where c.site_id = :s and c.entity = :e and c.misses >= :m"
            " and t.site_id = :s and t.id = c.id and t._deleted_at is null returning t.id"
        ),
        params,
    )]  # fmt: skip
    history.close(conn, entity=entity, site_id=site_id, ids=marked, schema=schema)
    conn.execute(
        text(f"delete from {cand} where site_id = :s and entity = :e and misses >= :m"), params
    )
    return len(marked)
