"""Shared bench plumbing: the sandbox in its own process, a throwaway database, medians."""

import multiprocessing
import os
import socket
import statistics
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from pelcro_sandbox.config import SandboxConfig
from pelcro_sandbox.runner import serve_forever
from pelcro_sandbox.sandbox import Sandbox

LOCAL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class RemoteSandbox:
    base_url: str
    api_key: str
    site_ids: list[int]
    admin_url: str


@contextmanager
def sandbox_process(cfg: SandboxConfig) -> Iterator[RemoteSandbox]:
    """The sandbox in its own process, so its JSON encoding does not share our GIL."""
    sandbox = Sandbox(cfg)  # the same seed gives the same key and sites as the child's
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = multiprocessing.get_context("spawn").Process(
        target=serve_forever, args=(cfg, port), kwargs={"on_ready": _quiet}, daemon=True
    )
    proc.start()
    origin = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            try:
                httpx.get(origin + "/api/v1/core/account", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield RemoteSandbox(
            origin + "/api/v1/core", sandbox.api_key, list(sandbox.site_ids), origin + "/_sandbox"
        )
    finally:
        proc.terminate()
        proc.join(timeout=5)


def _quiet(running: object) -> None:
    pass


def server_url() -> str:
    return os.environ.get("DATABASE_URL") or LOCAL


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh database on DATABASE_URL's server (or 127.0.0.1:5432), dropped afterwards;
    yields its SQLAlchemy URL."""
    server = server_url()
    admin = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"pelcro_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(server).set(drivername="postgresql+psycopg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def libpq(url: str) -> str:
    """A SQLAlchemy URL as psycopg's connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def warm(sb: RemoteSandbox, site: int, entities: Sequence[str]) -> float:
    """Read every page of `entities` once, so a `page_cache` sandbox serves them from memory
    while the pipeline is measured (in production the API's CPU is not ours); seconds."""
    from pelcro_sync.api.client import PelcroClient
    from pelcro_sync.config import Secret, Settings
    from pelcro_sync.entities import get_entity

    settings = Settings(api_key=Secret(sb.api_key), base_url=sb.base_url, rate_limit=1_000_000)
    start = time.perf_counter()
    with PelcroClient(settings) as client:
        for name in entities:
            for _ in client.iter_pages(get_entity(name), site_id=site):
                pass
    return time.perf_counter() - start


def peak_rss_mb() -> float:
    """This process's peak resident memory, MiB. Not `ru_maxrss`: Linux carries into a
    spawned child the RSS its parent had when it forked, so every child would report at
    least the bench's own peak; VmHWM belongs to the process's current memory map."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource  # not Linux: the portable figure, with the caveat above

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
