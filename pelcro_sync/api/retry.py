"""Pure retry decisions: whether to try a request again, and after how long; no sleeping here."""

import math
import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Protocol

import httpx

from pelcro_sync.errors import MalformedBodyError

# Statuses that say "not now" rather than "never": rate limiting and transient server trouble.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# Network failures worth another go. Other httpx errors (bad URL, unsupported protocol,
# too many redirects) will fail the same way every time.
RETRY_EXCEPTIONS: tuple[type[BaseException], ...] = (
    httpx.TimeoutException,  # connect/read/write/pool timeouts
    httpx.NetworkError,  # ConnectError, ReadError, WriteError, CloseError
    httpx.RemoteProtocolError,  # server closed the connection mid-response
    MalformedBodyError,  # truncated or non-JSON 2xx body: a proxy hiccup, not our bug
)


class Rng(Protocol):
    def uniform(self, a: float, b: float) -> float: ...


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Pelcro recommends ~5 retries, starting at 1 s and doubling, jittered.

    Attributes:
        max_attempts: attempts in all, the first included.
        base: the first backoff ceiling in seconds; it doubles per attempt.
        cap: the largest backoff ceiling in seconds.
        max_retry_after: a Retry-After longer than this is not waited out; the caller
            gets a RateLimitedError to reschedule instead of a worker blocked for an hour.
    """

    max_attempts: int = 6
    base: float = 1.0
    cap: float = 30.0
    max_retry_after: float = 300.0


@dataclass(frozen=True)
class Decision:
    retry: bool
    delay: float = 0.0
    reason: str = ""


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if unusable.

    `now` is wall-clock unix time, needed only for the date form. A date in the past means 0.
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        seconds = None
    if seconds is not None:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def backoff(attempt: int, *, policy: RetryPolicy, rng: Rng) -> float:
    """Full jitter (AWS style): uniform in [0, min(cap, base * 2**(attempt-1))].

    Full jitter spreads the retries of many threads that failed together, which a fixed
    doubling would line up again.
    """
    ceiling = min(policy.cap, policy.base * 2 ** max(0, attempt - 1))
    return rng.uniform(0.0, ceiling)


def is_retryable_status(status: int) -> bool:
    return status in RETRY_STATUSES


def is_retryable_error(error: BaseException) -> bool:
    return isinstance(error, RETRY_EXCEPTIONS)


def decide(
    *,
    attempt: int,
    status: int | None = None,
    error: BaseException | None = None,
    retry_after: float | None = None,
    policy: RetryPolicy = RetryPolicy(),
    rng: Rng | None = None,
) -> Decision:
    """Decide after attempt number `attempt` (1-based) failed with `status` or `error`.

    `retry_after` is the already parsed header (see `parse_retry_after`); it wins over
    backoff, so "0" means go again at once.
    """
    if error is not None:
        if not is_retryable_error(error):
            return Decision(False, reason=f"{type(error).__name__} is not transient")
        reason = type(error).__name__
    elif status is not None:
        if not is_retryable_status(status):
            return Decision(False, reason=f"HTTP {status} will not change on retry")
        reason = f"HTTP {status}"
    else:
        raise ValueError("decide() needs a status or an error")
    if attempt >= policy.max_attempts:
        return Decision(False, reason=f"{reason}; gave up after {attempt} attempts")
    if retry_after is not None and status is not None:
        if retry_after > policy.max_retry_after:
            return Decision(False, reason=f"{reason}; Retry-After {retry_after:g} s is too long")
        return Decision(True, delay=retry_after, reason=f"{reason}; Retry-After {retry_after:g} s")
    delay = backoff(attempt, policy=policy, rng=rng or random.Random())
    return Decision(True, delay=delay, reason=f"{reason}; backoff {delay:.2f} s")
