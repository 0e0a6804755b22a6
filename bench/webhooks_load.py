"""Load on the webhook receiver: slow connections held open while signed deliveries arrive.

python -m bench.webhooks_load                         # issue #21: 500 slow, 100/s for 60 s
python -m bench.webhooks_load --slow 100 --seconds 5  # the form `make test` runs

The receiver is `pelcro-sync webhooks serve` in its own process, as deployed; its threads
and resident memory are read from /proc while the load runs. Each slow client sends one
header byte every 5 s (the slowloris of the issue) and reconnects when answered, so the
number held stays at `--slow`. Deliveries are new events, each signed, sent at a fixed
rate whatever the answers' latency; at the end the stored events are counted.
"""

import argparse
import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import create_engine

from pelcro_sync.warehouse import events
from pelcro_sync.warehouse.warehouse import Warehouse
from pelcro_sync.webhooks.signature import HEADER, sign

SECRET = "whsec_load_3f9a"
BIN = Path(sys.executable).with_name("pelcro-sync")


@dataclass
class LoadResult:
    slow_target: int
    rate: int
    seconds: float
    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list, repr=False)
    stored: int = 0
    slow_held_min: int = 0  # fewest slow connections open at once while deliveries ran
    slow_answers: Counter[str] = field(default_factory=Counter)
    threads_max: int = 0
    server_cpu_s: float = 0.0  # the receiver process's CPU time, all threads
    client_cpu_s: float = 0.0  # this process's (the load generator's)
    rss_start_mib: float = 0.0
    rss_max_mib: float = 0.0

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if s.startswith("2"))

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    def summary(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "latencies_s"}
        out |= {"statuses": dict(self.statuses), "slow_answers": dict(self.slow_answers)}
        out |= {
            "answered_2xx": self.ok,
            "p50_ms": self.quantile(0.5) * 1000,
            "p99_ms": self.quantile(0.99) * 1000,
            "max_ms": self.quantile(1.0) * 1000,
        }
        return out


@contextmanager
def receiver_process(database_url: str, schema: str) -> Iterator[tuple[str, int]]:
    """`pelcro-sync webhooks serve` on a free port; yields its URL and pid; SIGTERM at the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PELCRO_")}
    env |= {"DATABASE_URL": database_url, "PELCRO_SCHEMA": schema,
            "PELCRO_WEBHOOK_SECRET": SECRET}  # fmt: skip
    proc = subprocess.Popen([str(BIN), "webhooks", "serve", "--port", "0"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        match = re.search(r"on (http://\S+)", line)
        if not match:
            raise RuntimeError(f"the receiver did not start: {line!r}")
        yield match.group(1), proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def sample_process(pid: int, result: LoadResult, stop: threading.Event) -> None:
    """Threads and resident memory of `pid`, twice a second, until `stop`."""
    while not stop.wait(0.5):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        threads, rss = int(fields["Threads"]), int(fields["VmRSS"].split()[0]) / 1024
        result.threads_max = max(result.threads_max, threads)
        result.rss_start_mib = result.rss_start_mib or rss
        result.rss_max_mib = max(result.rss_max_mib, rss)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of `pid` so far."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


async def slow_client(host: str, port: int, stop: asyncio.Event, held: list[int],
                      answers: Counter[str], interval: float) -> None:  # fmt: skip
    """One header byte every `interval` seconds; reconnect once answered or cut off. Clients
    start at random moments of the first interval, as an attack's connections arrive."""
    request = (f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
               f"Content-Length: 2\r\n\r\n{{}}").encode()  # fmt: skip
    await asyncio.sleep(random.uniform(0, interval))
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            answers["connect failed"] += 1
            await asyncio.sleep(interval)
            continue
        held[0] += 1
        try:
            answers[await _dribble(reader, writer, request, stop, interval)] += 1
        finally:
            held[0] -= 1
            writer.close()


async def _dribble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes,
                   stop: asyncio.Event, interval: float) -> str:  # fmt: skip
    try:
        for byte in request:
            if stop.is_set():
                return "stopped"
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                data = await asyncio.wait_for(reader.read(64), interval)
            except TimeoutError:
                continue
            return data.split(b" ")[1].decode() if data.startswith(b"HTTP/") else "closed"
    except OSError:
        return "reset"
    return "completed"


class Connections:
    """Keep-alive HTTP/1.1 connections to the receiver, reused between deliveries. A minimal
    client: httpx costs ~8 ms of CPU a request, which on two cores measures the client."""

    IDLE_S = 3.0  # below the receiver's keep-alive (5 s), as HTTP clients keep theirs

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self.idle:
            reader, writer, since = self.idle.pop()
            if time.monotonic() - since < self.IDLE_S and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port)

    async def post(self, body: bytes, headers: dict[str, str]) -> int:
        reader, writer = await self._connection()
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(f"POST / HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"
                     f"{head}\r\n".encode() + body)  # fmt: skip
        status_line, *lines = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
        fields = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines if ln)}
        await reader.readexactly(int(fields.get("content-length", 0)))
        if fields.get("connection", "").lower() == "close":
            writer.close()
        else:
            self.idle.append((reader, writer, time.monotonic()))
        return int(status_line.split(" ")[1])

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()


async def deliver(connections: Connections, result: LoadResult) -> None:
    body = orjson.dumps({"type": "customer.updated", "id": f"evt_{uuid.uuid4().hex}",
                         "created": int(time.time()), "data": {"object": {
                             "object": "customer", "id": 5121, "site_id": 85,
                             "email": "load@example.com"}}})  # fmt: skip
    headers = {"Content-Type": "application/json", HEADER: sign(SECRET, body)}
    t0 = time.perf_counter()
    try:
        status = str(await asyncio.wait_for(connections.post(body, headers), 30))
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
        status = type(exc).__name__
    result.latencies_s.append(time.perf_counter() - t0)
    result.statuses[status] += 1


async def drive(url: str, result: LoadResult, *, interval: float) -> None:
    host, port = httpx.URL(url).host, httpx.URL(url).port or 80
    stop, held = asyncio.Event(), [0]
    slow = [
        asyncio.create_task(slow_client(host, port, stop, held, result.slow_answers, interval))
        for _ in range(result.slow_target)
    ]
    while held[0] < result.slow_target:  # all held before the first delivery
        await asyncio.sleep(0.05)
    result.slow_held_min = held[0]
    connections = Connections(host, port)
    t0, tasks = time.perf_counter(), []
    for i in range(int(result.rate * result.seconds)):
        await asyncio.sleep(max(0.0, t0 + i / result.rate - time.perf_counter()))
        result.slow_held_min = min(result.slow_held_min, held[0])
        tasks.append(asyncio.create_task(deliver(connections, result)))
    result.sent = len(tasks)
    await asyncio.gather(*tasks)
    connections.close()
    stop.set()
    for task in slow:  # a slow client may be waiting out its interval: no need
        task.cancel()
    await asyncio.gather(*slow, return_exceptions=True)


def run(database_url: str, *, slow: int = 500, rate: int = 100, seconds: float = 60,
        interval: float = 5.0) -> LoadResult:  # fmt: skip
    """The load against a receiver on `database_url` in a throwaway schema."""
    schema = f"load_{uuid.uuid4().hex[:8]}"
    result = LoadResult(slow_target=slow, rate=rate, seconds=seconds)
    engine = create_engine(database_url)
    try:
        with receiver_process(database_url, schema) as (url, pid):
            stop = threading.Event()
            sampler = threading.Thread(target=sample_process, args=(pid, result, stop))
            sampler.start()
            cpu0, server0 = time.process_time(), cpu_seconds(pid)
            try:
                asyncio.run(drive(url, result, interval=interval))
            finally:
                result.client_cpu_s = time.process_time() - cpu0
                result.server_cpu_s = cpu_seconds(pid) - server0
                stop.set()
                sampler.join()
        with engine.connect() as conn:
            result.stored = events.count(conn, warehouse=Warehouse(database_url, engine, schema))
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        engine.dispose()
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from bench.common import throwaway_database

    p = argparse.ArgumentParser(prog="python -m bench.webhooks_load", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--slow", type=int, default=500, help="slow connections held open")
    p.add_argument("--rate", type=int, default=100, help="signed deliveries per second")
    p.add_argument("--seconds", type=float, default=60, help="how long deliveries arrive")
    args = p.parse_args(argv)
    with throwaway_database() as url:
        summary = run(url, slow=args.slow, rate=args.rate, seconds=args.seconds).summary()
    for key, value in summary.items():
        print(f"{key:<16} {value:,.1f}" if isinstance(value, float) else f"{key:<16} {value}")
    return summary


if __name__ == "__main__":
    main()
