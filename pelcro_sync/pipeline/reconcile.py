"""Delete detection for a complete scan: ids seen -> candidates -> confirmed -> `_deleted_at`.

What the scan saw is in the warehouse (`pelcro_sync.warehouse.tombstones`, which holds the SQL).
Only a scan that reached its last page may name candidates: the live rows it did not
see. Offset pagination skips records when others are deleted mid-scan, so a candidate is
only marked once confirmed gone: `GET /<entity>/{id}` answers 404, or (entities without a
documented GET by id) a second complete scan missed it too.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pelcro_sync import config
from pelcro_sync.api.client import PelcroClient
from pelcro_sync.entities import Entity
from pelcro_sync.errors import NotFoundError, PelcroSyncError
from pelcro_sync.transform.normalize import normalize
from pelcro_sync.warehouse import tombstones
from pelcro_sync.warehouse.upsert import mark_deleted, upsert_batch
from pelcro_sync.warehouse.warehouse import Warehouse

log = logging.getLogger(__name__)

DEFAULT_MAX_DELETE_SHARE = config.DEFAULT_MAX_DELETE_SHARE
# Deleting this many rows is never blocked: one plan out of five is 20 %, and routine.
ALWAYS_ALLOWED_DELETES = 10
DEFAULT_MAX_CONFIRM_GETS = 200  # per entity and run; the rest wait for the next scan
# entities.md documents no `GET /<entity>/{id}` for these: a second complete scan confirms.
NO_GET_BY_ID = frozenset({"refunds", "sources", "organizations", "vendors"})


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
            max_share = config.read("PELCRO_MAX_DELETE_SHARE")
        if not 0 <= max_share <= 1:
            raise PelcroSyncError(f"max delete share must be between 0 and 1, not {max_share}")
        return cls(max_share=max_share)


@dataclass
class DeleteOutcome:
    candidates: int = 0
    confirm_gets: int = 0
    marked: int = 0
    came_back: int = 0


def check_share(
    *, entity: Entity, site_id: int, candidates: int, live: int, max_share: float
) -> None:
    """Raise DeleteSafetyError when the candidates are too large a share of the live rows."""
    if candidates <= ALWAYS_ALLOWED_DELETES or candidates <= max_share * live:
        return
    raise DeleteSafetyError(
        f"{entity.name} of site {site_id}: {candidates} of {live} live rows "
        f"({candidates / max(live, 1):.0%}) vanished from the API, more than the "
        f"{max_share:.0%} allowed at once; nothing was marked deleted. Check the API, then "
        "rerun with --max-delete-share (or PELCRO_MAX_DELETE_SHARE) raised to allow it"
    )


def detect_deletes(
    client: PelcroClient,
    *,
    warehouse: Warehouse,
    entity: Entity,
    site_id: int,
    policy: DeletePolicy,
    since: datetime | None,
) -> DeleteOutcome:
    """Confirm the candidates of the scan just completed (started at `since`) and mark
    the confirmed ones.

    Raises:
        DeleteSafetyError: more would be marked than `policy.max_share` allows; none is.
    """
    by_get = entity.name not in NO_GET_BY_ID
    key: dict[str, Any] = {"warehouse": warehouse, "site_id": site_id, "entity": entity}
    with warehouse.begin() as conn:
        if not tombstones.register_candidates(conn, since=since, **key):
            return DeleteOutcome()  # nothing to count (a count of a large first load: ~20 ms)
        candidates, live = tombstones.counts(conn, **key)
        ready = candidates if by_get else tombstones.missed_twice(conn, **key)
    outcome = DeleteOutcome(candidates=candidates)
    if not ready:
        return outcome
    check_share(
        entity=entity, site_id=site_id, candidates=ready, live=live, max_share=policy.max_share
    )
    if not by_get:
        with warehouse.begin() as conn:
            outcome.marked = tombstones.mark_missed_twice(conn, **key)
        return outcome
    with warehouse.connect() as conn:
        ids = tombstones.candidate_ids(conn, limit=policy.max_confirm_gets, **key)
    gone, back = _confirm(client, entity=entity, site_id=site_id, ids=ids)
    outcome.confirm_gets, outcome.came_back = len(ids), len(back)
    with warehouse.begin() as conn:
        outcome.marked = mark_deleted(conn, ids=gone, **key)
        if back:  # it moved between pages while the scan ran: keep it current
            upsert_batch(conn, batch=normalize(entity, back), **key)
        tombstones.drop_candidates(conn, ids=ids, **key)
    if len(ids) < candidates:
        left = candidates - len(ids)
        log.info(
            "%s site %s: %s candidates left for the next scan (GET cap %s)",
            entity.name,
            site_id,
            left,
            policy.max_confirm_gets,
        )
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
