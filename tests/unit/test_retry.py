"""Every retry decision pinned: what is retried, after how long, and what never is."""

import random

import httpx
import pytest

from pelcro_sync.api.retry import RetryPolicy, backoff, decide, parse_retry_after
from pelcro_sync.errors import MalformedBodyError

NOW = 1_700_000_000.0  # a fixed wall clock for HTTP-date Retry-After values


class MaxRng:
    """Always picks the top of the jitter range, so delays are exact in the tables."""

    def uniform(self, a: float, b: float) -> float:
        return b


REQ = httpx.Request("GET", "https://example.test/customers")


@pytest.mark.parametrize(
    ("status", "retry"),
    [
        (429, True), (500, True), (502, True), (503, True), (504, True),
        (400, False), (401, False), (403, False), (404, False), (405, False),
        (409, False), (422, False), (501, False), (505, False),
    ],
    ids=lambda v: str(v),
)  # fmt: skip
def test_status_is_retried_or_never(status: int, retry: bool) -> None:
    assert decide(attempt=1, status=status, rng=MaxRng()).retry is retry


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectTimeout("t", request=REQ),
        httpx.ReadTimeout("t", request=REQ),
        httpx.WriteTimeout("t", request=REQ),
        httpx.PoolTimeout("t", request=REQ),
        httpx.ConnectError("refused", request=REQ),
        httpx.ReadError("reset", request=REQ),
        httpx.WriteError("broken pipe", request=REQ),
        httpx.RemoteProtocolError("peer closed connection", request=REQ),
        MalformedBodyError("truncated JSON"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_transient_errors_are_retried(error: BaseException) -> None:
    decision = decide(attempt=1, error=error, rng=MaxRng())
    assert decision.retry and decision.delay == 1.0


@pytest.mark.parametrize(
    "error",
    [
        httpx.UnsupportedProtocol("ftp", request=REQ),
        httpx.TooManyRedirects("loop", request=REQ),
        ValueError("a bug of ours"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_permanent_errors_are_not_retried(error: BaseException) -> None:
    assert not decide(attempt=1, error=error).retry


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("0", 0.0),
        ("37", 37.0),
        (" 5 ", 5.0),
        ("1.5", 1.5),
        ("-3", None),
        ("soon", None),
        ("", None),
        ("nan", None),
        ("Tue, 14 Nov 2023 22:14:00 GMT", 1_700_000_040.0 - NOW),
        ("Tue, 14 Nov 2023 22:00:00 GMT", 0.0),  # a date in the past: go now
        ("Tue, 14 Nov 2023 22:14:00", None),  # no zone: ambiguous, ignored
    ],
    ids=["absent", "zero", "seconds", "padded", "fraction", "negative", "garbage", "empty",
         "nan", "http-date", "past-date", "date-without-zone"],
)  # fmt: skip
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


@pytest.mark.parametrize(
    ("retry_after", "delay"),
    [(None, 1.0), (0.0, 0.0), (37.0, 37.0)],
    ids=["absent-backoff", "zero-immediately", "honoured"],
)
def test_429_delay_honours_retry_after(retry_after: float | None, delay: float) -> None:
    decision = decide(attempt=1, status=429, retry_after=retry_after, rng=MaxRng())
    assert decision.retry and decision.delay == delay


def test_retry_after_longer_than_the_policy_allows_gives_up() -> None:
    policy = RetryPolicy(max_retry_after=60)
    assert not decide(attempt=1, status=429, retry_after=3600, policy=policy).retry


def test_retry_after_is_ignored_for_transport_errors() -> None:
    error = httpx.ReadError("reset", request=REQ)
    assert decide(attempt=1, error=error, retry_after=99, rng=MaxRng()).delay == 1.0


@pytest.mark.parametrize(
    ("attempt", "retry", "ceiling"),
    [(1, True, 1.0), (2, True, 2.0), (3, True, 4.0), (4, True, 8.0), (5, True, 16.0),
     (6, False, 0.0), (7, False, 0.0)],
    ids=[f"attempt-{n}" for n in range(1, 8)],
)  # fmt: skip
def test_backoff_doubles_until_the_attempt_cap(attempt: int, retry: bool, ceiling: float) -> None:
    decision = decide(attempt=attempt, status=503, rng=MaxRng())
    assert decision.retry is retry
    assert decision.delay == ceiling


def test_backoff_ceiling_is_capped() -> None:
    policy = RetryPolicy(max_attempts=20, base=1.0, cap=30.0)
    assert backoff(12, policy=policy, rng=MaxRng()) == 30.0


@pytest.mark.parametrize("seed", range(5), ids=lambda s: f"seed-{s}")
def test_full_jitter_stays_within_bounds(seed: int) -> None:
    rng = random.Random(seed)
    policy = RetryPolicy(max_attempts=10)
    for attempt in range(1, 9):
        delays = [backoff(attempt, policy=policy, rng=rng) for _ in range(200)]
        ceiling = min(policy.cap, policy.base * 2 ** (attempt - 1))
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # the range is used, not a fixed point


def test_decide_needs_a_status_or_an_error() -> None:
    with pytest.raises(ValueError):
        decide(attempt=1)
