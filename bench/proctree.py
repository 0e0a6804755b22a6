"""Run a command as its own process and measure it: wall time and peak RSS of its process tree."""

import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

SAMPLE_S = 0.05


@dataclass(frozen=True)
class Measured:
    """What one run of a command cost, from its start (process start included) to its exit."""

    elapsed: float
    peak_rss_mb: float  # the process and all its descendants, summed; see `run_measured`
    returncode: int
    stdout: str
    stderr: str


def run_measured(
    cmd: Sequence[str], *, env: Mapping[str, str], cwd: str | Path | None = None
) -> Measured:
    """Run `cmd` to completion; its wall time and the peak RSS of its process tree, MiB.

    A thread samples the process and its descendants every 50 ms (psutil) and keeps the
    largest sum. A spike of the main process between two samples is not lost: each sample
    also reads its kernel high-water mark (VmHWM), and the tree figure is never below it.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd), env=dict(env), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    sampler = _Sampler(proc.pid)
    sampler.start()
    stdout, stderr = proc.communicate()
    elapsed = time.perf_counter() - start
    sampler.stop()
    return Measured(
        elapsed=elapsed,
        peak_rss_mb=sampler.peak / 2**20,
        returncode=proc.returncode,
        stdout=stdout.decode(errors="replace"),
        stderr=stderr.decode(errors="replace"),
    )


class _Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.root = psutil.Process(pid)
        self.peak = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self._sample())
            self._done.wait(SAMPLE_S)

    def stop(self) -> None:
        self._done.set()
        self.join()

    def _sample(self) -> int:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return 0  # exited
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                continue  # a child that just exited
        return max(total, _high_water(self.root.pid))


def _high_water(pid: int) -> int:
    """VmHWM of `pid` in bytes (0 once it has exited or off Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
