"""`pelcro-sync status` after a sync and after a time-limited one: each entity's last complete
scan by its age, and how far an unfinished scan got, next to the columns it always had."""

import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, text

BIN = Path(sys.executable).with_name("pelcro-sync")
RATE = 300  # requests a minute: 5 a second, so a 2 s limit stops a 15-page scan midway
COLUMNS = ["site", "entity", "rows", "deleted", "last success", "last complete scan",
           "scan in flight", "last run", "last error"]  # fmt: skip


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PELCRO_", "DATABASE_URL"))}
    done = subprocess.run([str(BIN), *args], env={**keep, **env}, capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).parent)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def _status(env: dict[str, str]) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The status table's header and its rows by entity, each a dict by column."""
    lines = [line for line in _run("status", env=env).stdout.splitlines() if "│" in line
             or "┃" in line]  # fmt: skip
    split = [[c.strip() for c in re.split("[│┃]", line)[1:-1]] for line in lines]
    header, body = split[0], split[1:]
    return header, {cells[1]: dict(zip(header, cells, strict=True)) for cells in body}


def _state(engine: Engine, schema: str, entity: str) -> tuple:
    with engine.connect() as conn:
        return conn.execute(
            text(f'SELECT scan_next_page, last_complete_scan_total FROM "{schema}"._sync_state '
                 "WHERE entity = :e"), {"e": entity},
        ).one()  # fmt: skip


def test_status_shows_the_last_complete_scans_age_and_the_scan_in_flight(
    make_sandbox, pg_url: str, pg_engine: Engine, migrated_schema: str
):
    running = make_sandbox(customers=1500, sites=1, rate_limit=RATE)
    site = running.site_ids[0]
    env = {"PELCRO_BASE_URL": running.base_url, "PELCRO_API_KEY": running.api_key,
           "DATABASE_URL": pg_url, "PELCRO_SCHEMA": migrated_schema,
           "PELCRO_RATE_LIMIT": str(RATE), "PELCRO_SITE_ID": str(site)}  # fmt: skip
    customers = len(running.sandbox.truth("customers", site))
    assert customers > 1000  # enough pages for a limit to stop the scan midway

    _run("sync", "customers", "plans", env=env)  # the first run of each is a full scan
    header, rows = _status(env)
    assert header == COLUMNS
    for name in ("customers", "plans"):
        assert rows[name]["site"] == str(site)
        assert re.fullmatch(r"\d+s ago", rows[name]["last complete scan"]), rows[name]
        assert rows[name]["scan in flight"] == "-"
        assert rows[name]["last run"].startswith("succeeded")
    assert rows["customers"]["rows"] == f"{customers:,}"

    with pg_engine.begin() as conn:  # the complete scan was three hours ago
        conn.execute(text(
            f'UPDATE "{migrated_schema}"._sync_state SET last_complete_scan_at = now() - '
            "interval '3 hours' WHERE entity = 'customers'"))  # fmt: skip
    partial = _run("sync", "customers", "--full", "--time-limit", "2s", env=env)
    assert "resumes next run" in partial.stdout
    next_page, total = _state(pg_engine, migrated_schema, "customers")
    pages = -(-total // 100)
    assert next_page is not None and 1 < next_page <= pages

    _, rows = _status(env)
    row = rows["customers"]
    # The time-limited run succeeded, yet the last complete scan is still the old one.
    assert row["last run"].startswith("succeeded")
    assert row["last success"] > rows["plans"]["last success"]
    assert row["last complete scan"] == "3h 0m ago"
    done = next_page - 1
    assert row["scan in flight"] == f"{done} of ~{pages} pages ({done * 100 // pages}%)"
    assert rows["plans"]["scan in flight"] == "-"

    _run("sync", "customers", "--full", env=env)  # resumes and completes
    _, rows = _status(env)
    assert re.fullmatch(r"\d+s ago", rows["customers"]["last complete scan"])
    assert rows["customers"]["scan in flight"] == "-"
    assert _state(pg_engine, migrated_schema, "customers")[0] is None
