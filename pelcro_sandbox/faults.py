"""Injected latency and faults, drawn from a per-request seeded RNG so runs reproduce."""

from random import Random

from pelcro_sandbox.config import Faults

FAULT_KINDS = ("html_502", "http_503", "slow", "drop", "truncated")

HTML_502 = b"""<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""


def request_rng(seed: int, request_number: int) -> Random:
    return Random(f"{seed}|request|{request_number}")


def draw_fault(rng: Random, faults: Faults) -> str | None:
    """Pick at most one fault for this request according to the configured rates."""
    roll = rng.random()
    for kind in FAULT_KINDS:
        rate = getattr(faults, kind)
        if roll < rate:
            return kind
        roll -= rate
    return None


def draw_latency(rng: Random, latency: float, jitter: float) -> float:
    return latency + (rng.uniform(0, jitter) if jitter > 0 else 0.0)
