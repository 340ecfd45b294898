"""Keeps `make run`'s children (dev server, worker, API) running, as a process manager would
in production: a child that dies is started again after a backoff, the others stay up, and
`stop()` ends them all, newest first.

Each child gets a process group of its own, so a Ctrl-C in the terminal reaches only the
supervisor, which then stops the children in order (the API and the worker before the server
they talk to) instead of all of them at once.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

log = logging.getLogger("xigua.supervisor")


@dataclass(frozen=True)
class Backoff:
    """Delay before restarting a child: doubling from `first_s` up to `cap_s` while it keeps
    dying; a child that stayed up `healthy_after_s` starts again from `first_s`."""

    first_s: float = 1.0
    cap_s: float = 30.0
    healthy_after_s: float = 60.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after the `failures`-th death in a row (1, 2, ...)."""
        return float(min(self.cap_s, self.first_s * 2 ** (failures - 1)))


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        return f"signal {signal.Signals(-returncode).name}"
    return f"exit code {returncode}"


@dataclass
class Child:
    """A supervised process: what it runs and the state of its current life."""

    name: str
    argv: list[str]
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0  # deaths in a row, without a healthy run between them
    restart_at: float | None = None  # set while it waits out its backoff
    restarts: int = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Supervisor:
    backoff: Backoff = field(default_factory=Backoff)
    clock: Callable[[], float] = time.monotonic
    children: list[Child] = field(default_factory=list)

    def start(self, name: str, argv: list[str], cwd: Path | None = None) -> Child:
        child = Child(name, argv, cwd)
        self.children.append(child)
        self._launch(child)
        return child

    def _launch(self, child: Child) -> None:
        child.process = subprocess.Popen(child.argv, cwd=child.cwd, process_group=0)
        child.started_at = self.clock()
        child.restart_at = None
        log.info("started %s (pid %d)", child.name, child.process.pid)

    def check(self) -> None:
        """One round: notice children that died, restart those whose backoff is over."""
        now = self.clock()
        for child in self.children:
            assert child.process is not None
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    self._launch(child)
                continue
            returncode = child.process.poll()
            if returncode is None:
                continue
            up_s = now - child.started_at
            child.failures = 1 if up_s >= self.backoff.healthy_after_s else child.failures + 1
            delay = self.backoff.delay(child.failures)
            child.restart_at = now + delay
            at = (datetime.now() + timedelta(seconds=delay)).strftime("%H:%M:%S")
            log.warning(
                "%s (pid %d) exited with %s after %.1f s up; restarting it in %.1f s, at %s",
                child.name,
                child.process.pid,
                describe_exit(returncode),
                up_s,
                delay,
                at,
            )

    def run_forever(self, poll_s: float = 0.2) -> None:
        """Supervise until interrupted (KeyboardInterrupt, which SIGTERM raises as well)."""
        while True:
            self.check()
            time.sleep(poll_s)

    def stop(self, timeout_s: float = 25) -> None:
        """Stop the children newest first, each with SIGINT and then, after `timeout_s`, with
        SIGKILL. Another Ctrl-C while waiting kills whatever is still running."""
        try:
            for child in reversed(self.children):
                self._stop(child, timeout_s)
        except KeyboardInterrupt:
            for child in self.children:
                if child.running:
                    assert child.process is not None
                    child.process.kill()
                    child.process.wait()
            log.warning("killed what was still running")

    @staticmethod
    def _stop(child: Child, timeout_s: float) -> None:
        if not child.running:
            return
        assert child.process is not None
        log.info("stopping %s (pid %d)", child.name, child.process.pid)
        child.process.send_signal(signal.SIGINT)
        try:
            returncode = child.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0f s; killing it", child.name, timeout_s)
            child.process.kill()
            returncode = child.process.wait()
        log.info("%s stopped (%s)", child.name, describe_exit(returncode))
