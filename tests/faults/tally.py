"""What the fault suite did, summed over its tests: printed as one table at the end."""

from collections import Counter
from typing import Any

COUNTS: Counter[str] = Counter()


def record(**amounts: int) -> None:
    """Add to the tally, e.g. record(kills=1) or record(bad_inputs=3)."""
    COUNTS.update({k: v for k, v in amounts.items() if v})


def faults_from(sandbox: Any) -> None:
    """Add the faults a sandbox injected and the 429s it answered (its stats since start)."""
    stats = sandbox.stats
    injected = {f"fault_{kind}": n for kind, n in stats.faults.items()}
    record(**injected, throttled_429=stats.throttled)
