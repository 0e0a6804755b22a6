"""Per-account rolling-window rate limiter and request statistics.

INFERRED behaviour (README §11, §18.1): the docs say 120 requests per minute per account,
global across endpoints, and 429 when over. We apply the strictest reading (at most N
admitted requests in ANY 60-second window) and send Laravel throttle's headers and body.
The headers themselves are INFERRED (README §0: the docs document none); with
`SandboxConfig.rate_limit_headers` off the sandbox sends none, not even on a 429.
"""

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from pelcro_sandbox.errors import ApiError

WINDOW = 60.0


@dataclass
class Stats:
    """What the server saw: every Core API request, the 429s, and when others were served."""

    requests: int = 0
    throttled: int = 0
    served: list[float] = field(default_factory=list)  # unix times of non-429 responses
    by_status: dict[int, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)  # injected faults by kind
    expanded: int = 0  # list requests that asked for `expand` / `include`

    def max_in_window(self, seconds: float = WINDOW) -> int:
        """Most served requests inside any window of `seconds` (half-open)."""
        times = sorted(self.served)
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while times[lo] <= t - seconds:
                lo += 1
            best = max(best, hi - lo + 1)
        return best


class RateLimiter:
    """At most `limit` admissions per rolling 60 s per account (None = unlimited)."""

    def __init__(self, limit: int | None, *, headers: bool = True) -> None:
        self.limit = limit
        self.headers = headers  # off: 429s and answers carry no rate-limit header at all
        self._admitted: dict[int, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, account_id: int) -> dict[str, str]:
        """Admit one request or raise a 429 ApiError; returns X-RateLimit-* headers."""
        with self._lock:
            if self.limit is None:
                return {}
            now = time.time()
            window = self._admitted.setdefault(account_id, deque())
            while window and window[0] <= now - WINDOW:
                window.popleft()
            if len(window) >= self.limit:
                free_at = window[len(window) - self.limit] + WINDOW
                retry = max(0, math.ceil(free_at - now))
                headers = {
                    "Retry-After": str(retry),
                    "X-RateLimit-Limit": str(self.limit),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(math.ceil(free_at)),
                }
                raise ApiError(
                    429, {"message": "Too Many Attempts."}, headers if self.headers else {}
                )
            window.append(now)
            if not self.headers:
                return {}
            return {
                "X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(self.limit - len(window)),
            }

    def set_limit(self, limit: int | None) -> None:
        with self._lock:
            self.limit = limit
