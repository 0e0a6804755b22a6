"""The load of issue #21 in a shorter form (the full one: `python -m bench.webhooks_load`):
`pelcro-sync webhooks serve` holds 100 slow connections while 100 signed deliveries a second
arrive for 5 s. Every delivery is answered 2xx under a second and stored; the receiver's
threads and memory stay flat."""

from sqlalchemy import Engine

from bench.webhooks_load import run

SLOW, RATE, SECONDS = 100, 100, 5


def test_deliveries_are_all_stored_quickly_while_slow_connections_are_held(
    pg_url: str, pg_engine: Engine
) -> None:
    result = run(pg_url, slow=SLOW, rate=RATE, seconds=SECONDS)
    assert result.sent == RATE * SECONDS
    assert result.statuses == {"200": result.sent}, result.statuses
    assert result.stored == result.sent  # nothing lost
    assert result.slow_held_min >= SLOW * 0.9  # the slow connections really were held
    assert result.quantile(0.99) < 1.0, result.summary()
    # One event loop and a bounded pool of worker threads, whatever the connections.
    assert result.threads_max <= 16, result.threads_max
    assert result.rss_max_mib - result.rss_start_mib < 64, result.summary()
