"""`make bench` end to end, at a size that runs in seconds: it must keep working, and its
report must carry what docs/PERFORMANCE.md quotes. The figures themselves are not checked
here: they depend on the machine (see docs/PERFORMANCE.md)."""

from __future__ import annotations

import re
import subprocess
import sys

from config import PROJECT_ROOT


def test_bench_drives_orders_through_all_sides_and_reports_both_ratios() -> None:
    argv = [sys.executable, "-m", "bench.orders", "--orders", "4", "--concurrency", "2"]
    argv += ["--solo", "1", "--rounds", "2"]
    run = subprocess.run(
        argv, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=240, check=False
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    # Every side ran every round, in ABC CBA order, and finished every order it started.
    sides = r"ours [\d.]+, bare [\d.]+, minimal [\d.]+ orders/s"
    assert re.search(rf"^round 1 \(ours, bare, minimal\): {sides}", out, re.M), out
    assert re.search(rf"^round 2 \(minimal, bare, ours\): {sides}", out, re.M), out
    for side in ("ours", "bare", "minimal"):
        assert re.search(rf"{side}: all 4 completed", out), out
    # The same history shape on ours and the same-shape baseline (an update per request; the
    # money and platform calls as local activities); the minimal one has an update per
    # request and one activity.
    counts = r"10 updates, \d+ activities, \d+ local activities"
    ours = re.search(rf"^  ours: \d+ events .*: ({counts})", out, re.M)
    assert ours, out
    assert re.search(rf"^  bare: \d+ events .*: {re.escape(ours.group(1))}", out, re.M), out
    minimal = "10 updates, 1 activities, 0 local activities, 0 timers, 0 search-attribute upserts"
    assert re.search(rf"^  minimal: \d+ events .*: {minimal}", out, re.M), out
    # The headline figures of docs/PERFORMANCE.md, the bare SDK's ratio last as before.
    events = r"ours \d+\.\d, bare \d+\.\d, minimal \d+\.\d"
    assert re.search(rf"^history events per order: {events}$", out, re.M), out
    assert re.search(r"^ratio vs minimal workflow: \d+\.\d\d$", out, re.M), out
    assert re.search(r"^throughput ratio vs bare SDK: \d+\.\d\d$", out.rstrip(), re.M), out
    assert out.rstrip().splitlines()[-1].startswith("throughput ratio vs bare SDK: ")


def test_bench_prereview_compares_the_automaton_with_the_find_loop() -> None:
    # rule B2: `make bench-prereview` keeps working and reports what docs/PERFORMANCE.md quotes
    argv = [sys.executable, "-m", "bench.prereview", "--chars", "5000", "--rounds", "2"]
    argv += ["--runs", "2", "--grown", "100"]
    run = subprocess.run(
        argv, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    figures = r"automaton [\d.]+ ms, str.find loop [\d.]+ ms, ratio [\d.]+$"
    for terms in (r"\d+", "100"):
        for script in ("with terms: [1-9][\\d,]* matches", "clean: 0 matches"):
            line = rf"^{terms} terms, script {script}; {figures}"
            assert re.search(line, run.stdout, re.M), run.stdout
