"""Delete detection for a complete scan: ids seen -> candidates -> confirmed -> `_deleted_at`.

What the scan saw is in the warehouse (`pelcro_sync.warehouse.tombstones`, which holds the SQL).
Only a scan that reached its last page may name candidates: the live rows it did not
see since it started (across runs, when time-boxed). Offset pagination skips records when
others are deleted mid-scan, so a candidate is only marked once confirmed gone, in the
same run: `GET /<entity>/{id}` answers 404; or, without a documented GET by id, the list
re-read where it would sit in id order lacks it (`pelcro_sync.pipeline.confirm`); or, where
neither can tell (no id order is documented), a second complete scan missed it too.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pelcro_sync import config
from pelcro_sync.api.client import PelcroClient
from pelcro_sync.entities import Entity
from pelcro_sync.errors import NotFoundError, PelcroSyncError
from pelcro_sync.pipeline import confirm
from pelcro_sync.transform.normalize import normalize
from pelcro_sync.warehouse import tombstones
from pelcro_sync.warehouse.upsert import mark_deleted, upsert_batch
from pelcro_sync.warehouse.warehouse import Warehouse

log = logging.getLogger(__name__)

DEFAULT_MAX_DELETE_SHARE = config.DEFAULT_MAX_DELETE_SHARE
# Deleting this many rows is never blocked: one plan out of five is 20 %, and routine.
ALWAYS_ALLOWED_DELETES = 10
DEFAULT_MAX_CONFIRM_GETS = 200  # per entity and run; the rest wait for the next scan
# entities.md documents no `GET /<entity>/{id}` for these: list pages re-read in id order
# confirm (`pelcro_sync.pipeline.confirm`), else a second complete scan.
NO_GET_BY_ID = frozenset({"refunds", "sources", "organizations", "vendors"})
GET_BY_ID, PAGE_REREAD, SECOND_SCAN = "GET by id", "page re-read", "second scan"


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
    confirm_gets: int = 0  # requests spent confirming: GETs, or list pages re-read
    marked: int = 0
    came_back: int = 0
    check: str | None = None  # GET_BY_ID, PAGE_REREAD or SECOND_SCAN
    fallback: str | None = None  # why SECOND_SCAN, when it is


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


def confirmation(entity: Entity) -> tuple[str, str | None]:
    """How this entity's delete candidates are confirmed, and why a second scan when it is."""
    if entity.name not in NO_GET_BY_ID:
        return GET_BY_ID, None
    if entity.scan_sort == "id":
        return PAGE_REREAD, None
    return SECOND_SCAN, (
        "no GET by id, and the docs give its list no id order, so a re-read page proves nothing"
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
    check, why = confirmation(entity)
    key: dict[str, Any] = {"warehouse": warehouse, "site_id": site_id, "entity": entity}
    outcome = DeleteOutcome(check=check, fallback=why)
    with warehouse.begin() as conn:
        if not tombstones.register_candidates(conn, since=since, **key):
            return outcome  # nothing to count (a count of a large first load: ~20 ms)
        candidates, live = tombstones.counts(conn, **key)
        ready = tombstones.missed_twice(conn, **key) if check == SECOND_SCAN else candidates
    outcome.candidates = candidates
    if not ready:
        return outcome
    check_share(
        entity=entity, site_id=site_id, candidates=ready, live=live, max_share=policy.max_share
    )
    if check == GET_BY_ID:
        _confirm_by_get(client, key=key, policy=policy, outcome=outcome)
    elif check == PAGE_REREAD:
        _confirm_by_pages(client, key=key, policy=policy, outcome=outcome)
    if outcome.check == SECOND_SCAN:
        with warehouse.begin() as conn:
            outcome.marked += tombstones.mark_missed_twice(conn, **key)
    left = candidates - outcome.marked - outcome.came_back
    if left > 0 and outcome.check != SECOND_SCAN:
        log.info("%s site %s: %s candidates left for the next scan", entity.name, site_id, left)
    return outcome


def _confirm_by_get(
    client: PelcroClient, *, key: dict[str, Any], policy: DeletePolicy, outcome: DeleteOutcome
) -> None:
    """GET each candidate (up to the cap): a 404 is a delete, a record is still live. A
    record still live slid back into a page the scan had read, because a record there was
    deleted: where the list is in id order, that page is re-read to find it."""
    entity, site_id = key["entity"], key["site_id"]
    with key["warehouse"].connect() as conn:
        ranked = tombstones.candidate_ranks(conn, limit=policy.max_confirm_gets, **key)
    ids = [i for i, _ in ranked]
    gone, back = _confirm(client, entity=entity, site_id=site_id, ids=ids)
    outcome.confirm_gets = len(ids)
    if back and entity.scan_sort == "id":
        # The candidates a GET still answered, by the id asked for: the record's own `id`
        # may be unusable (not an integer) now, and then it is dropped as untypable.
        came_back = set(ids) - set(gone)
        try:
            found = confirm.confirm_by_pages(
                client,
                entity=entity,
                site_id=site_id,
                ranked=[(i, rank) for i, rank in ranked if i in came_back],
                max_reads=max(0, policy.max_confirm_gets - len(ids)),
            )
        except confirm.OutOfOrder:
            log.warning("%s site %s: a list page was not in id order", entity.name, site_id)
        else:
            outcome.confirm_gets += found.reads
            gone += _swept(key, found.spans, known=gone)
    _apply(key, gone=gone, back=back, decided=ids, outcome=outcome)


def _confirm_by_pages(
    client: PelcroClient, *, key: dict[str, Any], policy: DeletePolicy, outcome: DeleteOutcome
) -> None:
    """Re-read the list pages where the candidates would sit (`pipeline.confirm`); those
    left undecided, and every one if the list turns out not to be in id order, fall back
    to the second-scan rule."""
    with key["warehouse"].connect() as conn:
        ranked = tombstones.candidate_ranks(conn, limit=policy.max_confirm_gets, **key)
    try:
        found = confirm.confirm_by_pages(
            client,
            entity=key["entity"],
            site_id=key["site_id"],
            ranked=ranked,
            max_reads=policy.max_confirm_gets,
        )
    except confirm.OutOfOrder as exc:
        outcome.check, outcome.fallback = SECOND_SCAN, f"{exc}: a re-read page proves nothing"
        return
    outcome.confirm_gets = found.reads
    gone = found.gone + _swept(key, found.spans, known=found.gone)
    decided = [*found.gone, *(int(r["id"]) for r in found.back)]
    _apply(key, gone=gone, back=found.back, decided=decided, outcome=outcome)


def _swept(key: dict[str, Any], spans: list[confirm.Span], *, known: list[int]) -> list[int]:
    """Live rows in the range of a page just re-read that the page no longer holds (beyond
    `known`): deleted, though the scan had seen them before."""
    found: set[int] = set()
    with key["warehouse"].connect() as conn:
        for span in spans:
            missing = tombstones.live_ids_between(
                conn, low=span.low, high=span.high, listed=span.ids, **key
            )
            found.update(missing)
    return sorted(found - set(known))


def _apply(
    key: dict[str, Any],
    *,
    gone: list[int],
    back: list[dict[str, Any]],
    decided: list[int],
    outcome: DeleteOutcome,
) -> None:
    """Mark the confirmed deletes, keep the records still listed current, forget both."""
    with key["warehouse"].begin() as conn:
        outcome.marked += mark_deleted(conn, ids=gone, **key)
        if back:  # it moved between pages while the scan ran: keep it current
            upsert_batch(conn, batch=normalize(key["entity"], back), **key)
        tombstones.drop_candidates(conn, ids=decided, **key)
    outcome.came_back += len(back)


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
