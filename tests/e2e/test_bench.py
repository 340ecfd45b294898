"""`make bench` end to end, at a size that runs in seconds: it must keep working, and its
report must carry what docs/PERFORMANCE.md quotes. The figures themselves are not checked
here: they depend on the machine (see docs/PERFORMANCE.md)."""

from __future__ import annotations

import re
import subprocess
import sys

from config import PROJECT_ROOT


def test_bench_drives_orders_through_both_sides_and_reports_the_ratio() -> None:
    argv = [sys.executable, "-m", "bench.orders", "--orders", "4", "--concurrency", "2"]
    argv += ["--solo", "1", "--rounds", "2"]
    run = subprocess.run(
        argv, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=240, check=False
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    # Both sides ran every round, in ABBA order, and finished every order they started.
    assert re.search(r"^round 1 \(ours first\): ours [\d.]+, bare [\d.]+", out, re.M), out
    assert re.search(r"^round 2 \(bare first\): ours [\d.]+, bare [\d.]+", out, re.M), out
    assert re.search(r"ours: all 4 completed", out), out
    assert re.search(r"bare: all 4 completed", out), out
    # The same history shape on both sides: 10 updates, 5 activities, 11 local activities.
    shape = "10 updates, 5 activities, 11 local activities"
    assert re.search(rf"^  ours: \d+ events .*: {shape}", out, re.M), out
    assert re.search(rf"^  bare: \d+ events .*: {shape}", out, re.M), out
    assert re.search(r"^throughput ratio vs bare SDK: \d+\.\d\d$", out.rstrip(), re.M), out
    assert out.rstrip().splitlines()[-1].startswith("throughput ratio vs bare SDK: ")
