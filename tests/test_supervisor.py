"""`make run`'s supervisor (scripts/supervisor.py) on real child processes, its clock replaced,
so that backoff delays are checked without waiting them out."""

from __future__ import annotations

import logging
import signal
import sys
from dataclasses import dataclass

import pytest

from scripts.supervisor import Backoff, Child, Supervisor

DIES = [sys.executable, "-c", "raise SystemExit(3)"]
SLEEPS = ["sleep", "120"]  # SIGINT ends it by its default action: exit status -2


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def died_and_rescheduled(supervisor: Supervisor, child: Child) -> float:
    """Wait for the child's death, let the supervisor notice it; the delay it chose."""
    assert child.process is not None
    child.process.wait(timeout=30)
    supervisor.check()
    assert child.restart_at is not None, f"{child.name}'s death went unnoticed"
    return child.restart_at - supervisor.clock()


def test_dead_child_restarts_with_capped_backoff_reset_by_a_healthy_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # rule D1: a dead worker comes back by itself, so that no order's deadline waits forever
    clock = FakeClock()
    supervisor = Supervisor(Backoff(first_s=1, cap_s=4, healthy_after_s=60), clock)
    caplog.set_level(logging.INFO, logger="xigua.supervisor")
    try:
        steady = supervisor.start("steady", SLEEPS)
        flaky = supervisor.start("flaky", DIES)
        first_pid = flaky.pid
        pids = {first_pid}
        delays = []
        for _ in range(4):
            delays.append(died_and_rescheduled(supervisor, flaky))
            clock.now += delays[-1] - 0.01
            supervisor.check()
            assert flaky.restart_at is not None, "restarted before its backoff was over"
            clock.now += 0.01
            supervisor.check()
            assert flaky.restart_at is None
            pids.add(flaky.pid)
        assert delays == [1, 2, 4, 4]  # doubling, capped
        assert len(pids) == 5
        assert flaky.restarts == 4
        assert steady.running
        assert steady.restarts == 0

        # A run as long as healthy_after_s counts as recovered: the next delay is the first.
        assert flaky.process is not None
        flaky.process.wait(timeout=30)
        clock.now += 60
        assert died_and_rescheduled(supervisor, flaky) == 1
        said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert said[0].startswith(
            f"flaky (pid {first_pid}) exited with exit code 3 after 0.0 s up; "
            "restarting it in 1.0 s, at "
        )
        assert "restarting it in 4.0 s" in said[3]
    finally:
        supervisor.stop(timeout_s=10)
    assert not steady.running


def test_stop_ends_children_newest_first(caplog: pytest.LogCaptureFixture) -> None:
    # rule D1: the worker stops before the server it reports its tasks to
    supervisor = Supervisor()
    caplog.set_level(logging.INFO, logger="xigua.supervisor")
    children = [supervisor.start(name, SLEEPS) for name in ("server", "worker", "api")]
    supervisor.stop(timeout_s=10)
    stopping = [
        r.getMessage().split()[1] for r in caplog.records if r.getMessage().startswith("stopping")
    ]
    assert stopping == ["api", "worker", "server"]
    for child in children:
        assert child.process is not None
        assert child.process.returncode == -signal.SIGINT
