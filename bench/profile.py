"""Where a process's time goes: py-spy records its Python stacks while a benchmark runs, and
`summarize` turns the collapsed stacks into the tables of docs/PERFORMANCE.md.

py-spy samples from outside the process (`--nonblocking`: it does not pause the target), so
the profiled code runs unchanged. It sees Python frames only: time in the Temporal SDK's Rust
core threads, or in a C library called without a Python frame on top, is not in its samples."""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from config import PROJECT_ROOT

RATE_HZ = 100
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


@dataclass
class Recording:
    name: str
    output: Path
    process: subprocess.Popen[bytes]


class Recorder:
    """py-spy on some processes between `start()` and `stop()`; raw collapsed stacks out."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.recordings: list[Recording] = []

    def start(self, pids: dict[str, int]) -> None:
        exe = py_spy()
        if exe is None:
            raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
        self.directory.mkdir(parents=True, exist_ok=True)
        for name, pid in pids.items():
            output = self.directory / f"{name}.txt"
            argv = [
                exe, "record", "--pid", str(pid), "--rate", str(RATE_HZ), "--nonblocking",
                "--format", "raw", "--output", str(output),
            ]  # fmt: skip
            log = (self.directory / f"{name}.py-spy.log").open("wb")
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
            self.recordings.append(Recording(name, output, process))

    def stop(self) -> list[Recording]:
        """Stop the samplers; py-spy writes its file when interrupted."""
        for r in self.recordings:
            if r.process.poll() is None:
                r.process.send_signal(signal.SIGINT)
        for r in self.recordings:
            try:
                r.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                r.process.kill()
                r.process.wait()
        done, self.recordings = self.recordings, []
        return done


def _parse(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame.strip())
    return (match["func"], match["file"]) if match else (frame.strip(), "")


# Top-level modules and packages of this project (py-spy shows paths relative to sys.path).
OURS = frozenset(
    {"api", "services", "db", "workflows", "activities", "adapters", "bootstrap", "worker"}
    | {"config", "scripts", "bench", "temporal_bins"}
)
# Innermost frames of a thread that waits (for I/O, a lock, work): not CPU time. py-spy leaves
# most idle samples out already; these are the ones it may still catch.
IDLE = frozenset(
    {
        "EpollSelector.select",
        "PollSelector.select",
        "Condition.wait",
        "Event.wait",
        "_worker",
        "Thread._wait_for_tstate_lock",
    }
)


def package_of(path: str) -> str:
    """A frame's file reduced to what owns it: a package, `ours:<module>`, or `stdlib:<mod>`."""
    path = path.split("site-packages/", 1)[-1].removeprefix(str(PROJECT_ROOT) + "/")
    if path.startswith("<"):
        return "stdlib:" + path.strip("<>").split()[-1]
    if path.startswith("/"):  # an absolute path outside site-packages: the stdlib's own
        path = path.split("/lib/python3", 1)[-1].split("/", 1)[-1]
    top = path.split("/", 1)[0].removesuffix(".py")
    if top in OURS:
        return "ours:" + top
    if top in sys.stdlib_module_names:
        return "stdlib:" + top
    return top or "?"


@dataclass
class Summary:
    name: str
    samples: int
    seconds: float
    # leaf package -> samples whose innermost frame it owns ("self" time by package).
    by_package: Counter[str]
    # function of the project -> samples with it anywhere on the stack ("inclusive").
    ours_inclusive: Counter[str]
    # any function -> samples with it as the innermost frame ("self").
    self_time: Counter[str]

    def lines(self, top: int = 12) -> list[str]:
        busy = f"{self.samples / RATE_HZ:.1f} s of samples"
        out = [f"{self.name}: {self.samples} samples ({busy} over {self.seconds:.1f} s wall)"]

        def pct(n: int) -> str:
            return f"{100 * n / max(self.samples, 1):5.1f} %"

        out.append("  self time by package (innermost frame):")
        out += [f"    {pct(n)}  {pkg}" for pkg, n in self.by_package.most_common(top)]
        out.append("  inclusive time of the project's own functions:")
        out += [f"    {pct(n)}  {fn}" for fn, n in self.ours_inclusive.most_common(top)]
        out.append("  self time by function:")
        out += [f"    {pct(n)}  {fn}" for fn, n in self.self_time.most_common(top)]
        return out


def summarize(name: str, path: Path, seconds: float) -> Summary:
    by_package: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    samples = 0
    with contextlib.suppress(OSError), path.open() as f:
        for line in f:
            stack, _, count_text = line.rstrip("\n").rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            # py-spy puts the thread first ("process ...;thread ..."), then outermost->innermost.
            frames = [
                _parse(fr) for fr in stack.split(";") if not fr.startswith(("process ", "thread "))
            ]
            if not frames:
                continue
            func, file = frames[-1]
            if func in IDLE:
                continue
            samples += count
            by_package[package_of(file)] += count
            self_time[f"{func} ({package_of(file)})"] += count
            seen: set[str] = set()
            for func, file in frames:
                pkg = package_of(file)
                if pkg.startswith("ours:") and func != "<module>":
                    label = f"{pkg.removeprefix('ours:')}.{func}"
                    if label not in seen:
                        seen.add(label)
                        ours[label] += count
    return Summary(name, samples, seconds, by_package, ours, self_time)
