"""Pacing: evenly spaced slots under N per rolling minute, shared per account, 429-aware."""

import itertools
import threading
from pathlib import Path

import pytest

from pelcro_sync.api.ratelimit import (
    FileBudget,
    RateLimiter,
    Slots,
    account_budget,
    fingerprint,
    reset_shared_budgets,
)


class FakeClock:
    """A clock that moves only when someone sleeps; thread-safe."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def grants(limiter: RateLimiter, clock: FakeClock, n: int) -> list[float]:
    times = []
    for _ in range(n):
        limiter.acquire()
        times.append(clock())
    return times


def max_in_window(times: list[float], window: float = 60.0) -> int:
    return max(sum(1 for u in times if t <= u < t + window) for t in times)


@pytest.mark.parametrize("per_minute", [10, 120, 360, 1000], ids=lambda n: f"{n}-per-min")
def test_requests_are_evenly_spaced_under_the_limit(per_minute: int) -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute, margin=0.05, clock=clock, sleep=clock.sleep)
    times = grants(limiter, clock, per_minute * 3)
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(times)}
    assert gaps == {round(60 / (per_minute * 0.95), 9)}
    assert max_in_window(times) <= per_minute
    assert max_in_window(times) >= int(per_minute * 0.95)  # and the budget is used


def test_first_request_goes_at_once_and_idle_time_is_not_banked() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, margin=0.0, clock=clock, sleep=clock.sleep)
    assert limiter.acquire() == 0.0
    clock.sleep(3600)  # an hour idle must not allow a burst afterwards
    times = grants(limiter, clock, 3)
    assert times[1] - times[0] == pytest.approx(1.0) and times[2] - times[1] == pytest.approx(1.0)


def test_burst_allows_that_many_back_to_back() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, margin=0.0, burst=2, clock=clock, sleep=clock.sleep)
    times = grants(limiter, clock, 4)
    assert times[1] == times[0] and times[2] - times[0] == pytest.approx(1.0)


def test_threads_share_one_limiter_without_double_booking() -> None:
    clock = FakeClock()
    limiter = RateLimiter(120, margin=0.0, clock=clock, sleep=lambda s: None)
    slots: list[float] = []
    lock = threading.Lock()
    orig = limiter._slots.reserve

    def reserve(tat: float, now: float) -> tuple[float, float]:
        start, new = orig(tat, now)
        with lock:
            slots.append(start)
        return start, new

    limiter._slots.reserve = reserve  # type: ignore[method-assign]
    threads = [threading.Thread(target=lambda: [limiter.acquire() for _ in range(25)])
               for _ in range(8)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(slots) == 200 and len(set(slots)) == 200  # every request its own slot
    assert max(slots) - min(slots) == pytest.approx(199 * 0.5)


def test_penalize_pushes_the_next_slot_by_retry_after() -> None:
    clock = FakeClock()
    limiter = RateLimiter(120, margin=0.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.penalize(10.0)
    start = clock()
    limiter.acquire()
    assert clock() - start == pytest.approx(10.0)
    assert limiter.penalties == 1


def test_a_sleeper_woken_inside_a_pause_waits_it_out() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, margin=0.0, clock=clock)

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock() < 1002:  # a 429 lands while this caller sleeps on its slot
            limiter.penalize(5.0)

    limiter._sleep = sleep
    limiter.acquire()
    limiter.acquire()
    assert clock() >= 1001 + 5.0


def test_account_budget_is_one_per_account_and_rate_and_named_without_the_secret() -> None:
    reset_shared_budgets()
    a = account_budget(base_url="https://x/api", credential="k1-secret", per_minute=120)
    b = account_budget(base_url="https://x/api/", credential="k1-secret", per_minute=120)
    c = account_budget(base_url="https://x/api", credential="k2-secret", per_minute=120)
    assert a is b and a is not c
    assert isinstance(a, FileBudget) and a.path != c.path
    assert "k1-secret" not in str(a.path) and len(fingerprint("k1-secret")) == 16
    reset_shared_budgets()


def test_slots_validate_their_arguments() -> None:
    with pytest.raises(ValueError):
        Slots(0)
    with pytest.raises(ValueError):
        Slots(60, margin=1.0)


def test_file_budget_spaces_requests_across_instances(tmp_path: Path) -> None:
    clock = FakeClock(start=1_700_000_000.0)
    path = tmp_path / "budget"
    # Two instances over one file stand for two processes.
    a = FileBudget(60, path=path, margin=0.0, clock=clock, sleep=clock.sleep)
    b = FileBudget(60, path=path, margin=0.0, clock=clock, sleep=clock.sleep)
    times = []
    for limiter in (a, b, a, b):
        limiter.acquire()
        times.append(clock())
    assert [t - times[0] for t in times] == pytest.approx([0, 1, 2, 3])
    b.penalize(30)
    start = clock()
    a.acquire()
    assert clock() - start == pytest.approx(30)
    assert "secret" not in path.read_text()


def test_file_budget_survives_a_garbled_file(tmp_path: Path) -> None:
    path = tmp_path / "budget"
    path.write_text("not numbers")
    clock = FakeClock()
    assert FileBudget(60, path=path, clock=clock, sleep=clock.sleep).acquire() == 0.0


def test_file_budget_name_comes_from_a_fingerprint() -> None:
    budget = FileBudget.for_account(base_url="https://x", credential="topsecret", per_minute=60)
    assert "topsecret" not in str(budget.path)


def test_file_budget_records_its_rate_for_the_next_process(tmp_path) -> None:
    """A process that learnt the account's rate leaves it in the file, so another process
    can pace its very first request (GET /account) by it instead of the default."""
    path = tmp_path / "budget"
    assert FileBudget(120, path=path).recorded_rate() is None
    FileBudget(30, path=path, sleep=lambda s: None).acquire()
    assert FileBudget(120, path=path).recorded_rate() == 30
