"""Request pacing: one shared budget per account, so steady-state syncs never see a 429.

The server allows N requests per rolling minute per account. Bursting then backing off
wastes the budget on 429s; spacing requests evenly (GCRA) at slightly under N/min uses
almost all of it and never trips the limit. Every client, thread and process that talks
to one account must draw on the same budget: `account_budget` gives each account one
`FileBudget`, shared by every process on this machine (`budget_pg` shares it across hosts).
`RateLimiter` is the same pacing inside one process, for callers that pass their own.
"""

import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

Clock = Callable[[], float]
Sleep = Callable[[float], None]

DEFAULT_MARGIN = 0.03  # the sandbox's strict rolling window allows this with no 429s (bench.read)


class Budget(Protocol):
    """What the client needs from a pacer. A Postgres-backed budget implements the same two
    methods (e.g. `UPDATE budget SET tat = greatest(tat, now()) + interval … RETURNING`)."""

    def acquire(self) -> float:
        """Block until the next request may go; return the seconds waited."""
        ...

    def penalize(self, seconds: float) -> None:
        """A 429 arrived anyway: send nothing for `seconds` (the Retry-After)."""
        ...


class Slots:
    """GCRA arithmetic over a theoretical arrival time (tat); pure, the callers hold a lock.

    `interval` is the spacing between requests; `burst` requests may go back to back after
    an idle spell (1 means strictly evenly spaced).
    """

    def __init__(self, per_minute: float, *, margin: float = DEFAULT_MARGIN, burst: int = 1):
        if per_minute <= 0 or not 0 <= margin < 1 or burst < 1:
            raise ValueError("per_minute > 0, 0 <= margin < 1 and burst >= 1 are required")
        self.per_minute = per_minute
        self.interval = 60.0 / (per_minute * (1.0 - margin))
        self.tolerance = (burst - 1) * self.interval

    def reserve(self, tat: float, now: float) -> tuple[float, float]:
        """(start time of the reserved slot, new tat) for a request asked for at `now`."""
        return max(now, tat - self.tolerance), max(tat, now) + self.interval


class RateLimiter:
    """Thread-safe in-process pacer: `acquire()` blocks until this caller's slot comes.

    The clock and sleep are injectable so tests run without sleeping.
    """

    def __init__(
        self,
        per_minute: float,
        *,
        margin: float = DEFAULT_MARGIN,
        burst: int = 1,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._slots = Slots(per_minute, margin=margin, burst=burst)
        self._margin, self._burst = margin, burst
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._tat = float("-inf")
        self._paused_until = float("-inf")
        self.acquired = 0
        self.penalties = 0

    @property
    def per_minute(self) -> float:
        return self._slots.per_minute

    @property
    def interval(self) -> float:
        return self._slots.interval

    def set_rate(self, per_minute: float) -> None:
        with self._lock:
            self._slots = Slots(per_minute, margin=self._margin, burst=self._burst)

    def acquire(self) -> float:
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                start, self._tat = self._slots.reserve(self._tat, now)
            if start > now:
                self._sleep(start - now)
                waited += start - now
            with self._lock:
                # A 429 may have arrived while we slept on a slot reserved before it.
                if self._clock() >= self._paused_until:
                    self.acquired += 1
                    return waited

    def penalize(self, seconds: float) -> None:
        with self._lock:
            self.penalties += 1
            until = self._clock() + max(0.0, seconds)
            self._paused_until = max(self._paused_until, until)
            self._tat = max(self._tat, until)

    def __repr__(self) -> str:
        return f"RateLimiter(per_minute={self.per_minute:g}, interval={self.interval:.3f}s)"


def fingerprint(credential: str) -> str:
    """A short stable hash naming a credential in keys and file names without revealing it."""
    return hashlib.sha256(credential.encode()).hexdigest()[:16]


_REGISTRY_LOCK = threading.Lock()


def reset_shared_budgets() -> None:
    """Forget every account budget this process made (tests, and after a fork)."""
    with _REGISTRY_LOCK:
        _FILE_BUDGETS.clear()


class FileBudget:
    """Pacing shared by every process on this machine through an fcntl-locked file.

    The file holds two floats, the tat and the pause deadline, in wall-clock seconds (the
    only clock processes share). Each acquire is a read-modify-write under `flock`.
    """

    def __init__(
        self,
        per_minute: float,
        *,
        path: Path | None = None,
        key: str = "default",
        margin: float = DEFAULT_MARGIN,
        clock: Clock = time.time,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._slots = Slots(per_minute, margin=margin)
        self.per_minute = per_minute
        self.path = path or Path(tempfile.gettempdir()) / f"pelcro-sync-budget-{key}"
        self._clock, self._sleep = clock, sleep

    @staticmethod
    def account_path(*, base_url: str, credential: str) -> Path:
        key = fingerprint(f"{base_url.rstrip('/')}#{credential}")
        return Path(tempfile.gettempdir()) / f"pelcro-sync-budget-{key}"

    def recorded_rate(self) -> float | None:
        """The rate the last user of this file paced by (learnt from `GET /account`)."""
        try:
            return _read_state(self.path.read_bytes()[:64])[2]
        except OSError:
            return None

    @classmethod
    def for_account(cls, *, base_url: str, credential: str, per_minute: float) -> "FileBudget":
        return cls(per_minute, path=cls.account_path(base_url=base_url, credential=credential))

    def _update(self, change: Callable[[float, float, float], tuple[float, float, float]]) -> float:
        import fcntl  # POSIX only; imported here so the module loads everywhere

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            tat, paused, _ = _read_state(os.pread(fd, 64, 0))
            result, tat, paused = change(tat, paused, self._clock())
            # The rate rides along so the next process can pace its first request by it.
            data = f"{tat!r} {paused!r} {self.per_minute!r}".encode().ljust(64)
            os.pwrite(fd, data, 0)
            return result
        finally:
            os.close(fd)  # closing releases the flock

    def acquire(self) -> float:
        waited = 0.0
        while True:

            def take(tat: float, paused: float, now: float) -> tuple[float, float, float]:
                start, new_tat = self._slots.reserve(max(tat, paused), now)
                return start - now, new_tat, paused

            wait = self._update(take)
            if wait > 0:
                self._sleep(wait)
                waited += wait
            if self._update(lambda t, p, now: (p - now, t, p)) <= 0:
                return waited

    def penalize(self, seconds: float) -> None:
        def push(tat: float, paused: float, now: float) -> tuple[float, float, float]:
            until = now + max(0.0, seconds)
            return 0.0, max(tat, until), max(paused, until)

        self._update(push)


def _read_state(raw: bytes) -> tuple[float, float, float | None]:
    """(tat, pause deadline, rate) from the budget file; an empty or garbled file starts
    afresh, and a file from before the rate was recorded has none."""
    fields = raw.decode(errors="replace").split()
    try:
        tat, paused = float(fields[0]), float(fields[1])
    except (IndexError, ValueError):
        return float("-inf"), float("-inf"), None
    try:
        rate = float(fields[2])
    except (IndexError, ValueError):
        rate = None
    return tat, paused, rate if rate and rate > 0 else None


# Process-wide on purpose: every client of one account in this process must pace through
# the same FileBudget object (its lock and file handle), not one each.
_FILE_BUDGETS: dict[tuple[str, float], "FileBudget"] = {}


def account_budget(*, base_url: str, credential: str, per_minute: float) -> Budget:
    """The budget every client of this account uses by default: paced through a file, so
    threads, CLI runs and Dagster's step processes on this machine share one budget."""
    key = (f"{base_url.rstrip('/')}#{fingerprint(credential)}", per_minute)
    with _REGISTRY_LOCK:
        budget = _FILE_BUDGETS.get(key)
        if budget is None:
            budget = _FILE_BUDGETS[key] = FileBudget.for_account(
                base_url=base_url, credential=credential, per_minute=per_minute
            )
        return budget
