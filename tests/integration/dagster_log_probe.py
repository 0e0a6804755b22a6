"""A code location for test_dagster_logs.py: the project's definitions plus one asset that logs
secrets through a `pelcro_sync` logger, as a library bug might (message and traceback)."""

import logging
import os

import dagster as dg

from dagster_project import definitions as project

PROBE_LOGGER = "pelcro_sync.probe"


@dg.asset
def log_probe() -> None:
    # Read at run time: the values exist only in the run worker's environment.
    key, password = os.environ["PROBE_KEY"], os.environ["PROBE_PASSWORD"]
    log = logging.getLogger(PROBE_LOGGER)
    log.warning(
        "probe refused: Authorization: Bearer %s via postgresql://u:%s@db.example/w",
        key,
        password,
    )
    try:
        raise RuntimeError(f"probe failure with api_key={key}")
    except RuntimeError:
        log.exception("probe caught an error")


defs = dg.Definitions.merge(project.defs, dg.Definitions(assets=[log_probe]))
