"""The peer: dlt's `rest_api` source on the same Pelcro endpoints, into the same Postgres.

Configured as a dlt user would for this API: page-number paginator (`page`, base 1, total
pages from `meta.last_page`), `limit=100`, `site_id` on every request, bearer auth, records
under `data`, primary key `id` with the `merge` disposition (an upsert, as ours), dlt's
postgres destination in its own dataset (schema). dlt lives only in the bench group.

With several sites, each (entity, site) is a resource and a table of its own
(`customers_4996`): dlt's rest_api gives a resource one fixed set of query parameters.

As its own process (what `bench.workload` measures, process start included):
    PELCRO_BASE_URL=… PELCRO_API_KEY=… DATABASE_URL=… python -m bench.peer --sites 4996,4997
prints one JSON line: records loaded and seconds inside `pipeline.run`.
"""

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from bench.common import peak_rss_mb
from pelcro_sync.entities import ENTITIES, get_entity


def source_config(
    base_url: str, api_key: str, sites: int | Sequence[int], entities: list[str]
) -> dict[str, Any]:
    several = not isinstance(sites, int)
    site_ids = list(sites) if not isinstance(sites, int) else [sites]
    resources = []
    for site in site_ids:
        for name in entities:
            entity = get_entity(name)
            params: dict[str, Any] = {"site_id": site, "limit": 100}
            if entity.scan_sort:
                params["sort"] = entity.scan_sort
            resources.append({
                "name": f"{name}_{site}" if several else name,
                "endpoint": {"path": entity.path.lstrip("/"), "params": params},
            })  # fmt: skip
    return {
        "client": {
            "base_url": base_url.rstrip("/") + "/",
            "auth": {"type": "bearer", "token": api_key},
            "paginator": {
                "type": "page_number",
                "base_page": 1,
                "page_param": "page",
                "total_path": "meta.last_page",
            },
        },
        "resource_defaults": {
            "primary_key": "id",
            "write_disposition": "merge",
            "endpoint": {"data_selector": "data"},
        },
        "resources": resources,
    }


def run_dlt(base_url: str, api_key: str, site: int | Sequence[int], entities: list[str],
            db_url: str, *, dataset: str = "dlt_peer") -> dict[str, Any]:  # fmt: skip
    """One full dlt run (extract, normalize, load); records loaded and seconds."""
    import dlt
    from dlt.sources.rest_api import rest_api_source
    from sqlalchemy.engine import make_url

    pipes = tempfile.mkdtemp(prefix="dlt-bench-")
    try:
        url = make_url(db_url).set(drivername="postgresql")
        # dlt insists on a password; a trust-auth server ignores this placeholder.
        url = url if url.password else url.set(password="unused")
        credentials = url.render_as_string(hide_password=False)
        pipeline = dlt.pipeline(
            pipeline_name=f"pelcro_peer_{int(time.time() * 1000)}",
            destination=dlt.destinations.postgres(credentials=credentials),
            dataset_name=dataset,
            pipelines_dir=pipes,
        )
        source = rest_api_source(source_config(base_url, api_key, site, entities))  # type: ignore[arg-type]
        start = time.perf_counter()
        pipeline.run(source)
        elapsed = time.perf_counter() - start
        counts = pipeline.last_trace.last_normalize_info.row_counts  # type: ignore[union-attr]
        names = {r["name"] for r in source_config(base_url, "", site, entities)["resources"]}
        records = sum(v for k, v in counts.items() if k in names)  # not dlt's child tables
    finally:
        shutil.rmtree(pipes, ignore_errors=True)
    return {
        "records": records,
        "elapsed": elapsed,
        "peak_rss_mb": peak_rss_mb(),
    }


def dlt_child(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """run_dlt in a fresh process (its RSS its own); quiet dlt's logging."""
    import logging

    logging.getLogger("dlt").setLevel(logging.ERROR)
    return run_dlt(*args, **kwargs)


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.peer", description=__doc__)
    p.add_argument("--sites", required=True, help="comma-separated site ids")
    p.add_argument("--entities", default="all", help="comma-separated, or 'all'")
    args = p.parse_args(argv)
    entities = [e.name for e in ENTITIES] if args.entities == "all" else args.entities.split(",")
    sites = [int(s) for s in args.sites.split(",")]
    env = os.environ
    out = dlt_child(env["PELCRO_BASE_URL"], env["PELCRO_API_KEY"], sites, entities,
                    env["DATABASE_URL"])  # fmt: skip
    print(json.dumps(out))


if __name__ == "__main__":
    main()
