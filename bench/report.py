"""The report of `make bench`: latency, history, throughput, CPU and memory of each side, and
the targets of docs/PERFORMANCE.md."""

from __future__ import annotations

import os

from bench.baseline import Shape
from bench.ours import ROUTES, Phase
from bench.rounds import Options
from bench.stack import ms_summary, percentile


def events_per_order(phase: Phase) -> float:
    return sum(s.events for s in phase.shapes) / len(phase.shapes)


def describe_shapes(label: str, shapes: list[Shape]) -> str:
    events = [s.events for s in shapes]
    kib = sum(s.bytes for s in shapes) / len(shapes) / 1024
    mean = sum(events) / len(events)
    return (
        f"{label}: {shapes[0].describe()}; events per order: mean {mean:.1f}, "
        f"min {min(events)}, max {max(events)}, {kib:.1f} KiB ({len(shapes)} orders)"
    )


def cpu_lines(phase: Phase) -> list[str]:
    if phase.cpu is None:
        return []
    meter, out = phase.cpu, []
    for name, used in meter.used.items():
        share = 100 * used / meter.wall_s if meter.wall_s else 0.0
        per_order = 1000 * used / phase.orders
        out.append(
            f"  {name:<12} {used:7.1f} s CPU  {share:5.0f} % of one core  "
            f"{per_order:6.1f} ms per order   peak RSS {phase.peak_rss.get(name, 0):7.1f} MB"
        )
    total = sum(meter.used.values())
    out.append(
        f"  {'all':<12} {total:7.1f} s CPU  {100 * total / meter.wall_s:5.0f} % of one core  "
        f"{1000 * total / phase.orders:6.1f} ms per order   ({os.cpu_count()} cores)"
    )
    return out


def latency_table(
    ours: Phase, bare: Phase, ours_solo: Phase | None, bare_solo: Phase | None, names: list[str]
) -> list[str]:
    head = (
        f"  {'action':<16} {'update':<16} {'ours p50 / p95 / p99':>24} {'bare p50 / p95 / p99':>24}"
    )
    lines = [head]

    def rows(a: Phase, b: Phase) -> list[str]:
        out = []
        for i, route in enumerate(ROUTES):
            update = names[i] if i < len(names) else "?"
            bare_key = str(i)
            out.append(
                f"  {route:<16} {update:<16} {ms_summary(a.latencies[route]):>24} "
                f"{ms_summary(b.latencies[bare_key]):>24}"
            )
        ours_pool, bare_pool = a.pooled_actions(), b.pooled_actions()
        out.append(
            f"  {'all 9 actions':<16} {'updates 1-9':<16} {ms_summary(ours_pool):>24} "
            f"{ms_summary(bare_pool):>24}"
        )
        return out

    lines.append(f" at concurrency {ours.concurrency} ({ours.orders} orders each):")
    lines += rows(ours, bare)
    if ours_solo and bare_solo:
        lines.append(f" at concurrency 1 ({ours_solo.orders} orders each):")
        lines += rows(ours_solo, bare_solo)
    return lines


def report(
    opts: Options,
    shape: Shape,
    ours: Phase,
    bare: Phase,
    minimal: Phase,
    ours_solo: Phase | None,
    bare_solo: Phase | None,
    lifetime_peak: dict[str, float],
) -> None:
    names = ["start+" + shape.updates[0], *shape.updates[1:]]
    print()
    print("latency in ms (ours: HTTP request as the client sees it; bare: SDK update call):")
    print("\n".join(latency_table(ours, bare, ours_solo, bare_solo, names)))
    print()
    print("history per order:")
    for side in (ours, bare, minimal):
        print(" ", describe_shapes(side.name, side.shapes))
    print()
    print(f"throughput at concurrency {opts.concurrency}, {opts.orders} orders:")
    print(
        f"  {'ours':<7} {ours.throughput:6.2f} orders/s ({ours.wall_s:.1f} s)   "
        f"= {ours.throughput * len(ROUTES):.0f} requests/s"
    )
    for side in (bare, minimal):
        print(
            f"  {side.name:<7} {side.throughput:6.2f} orders/s ({side.wall_s:.1f} s)   "
            f"= {side.throughput * len(side.shapes[0].updates):.0f} updates/s"
        )
    if ours_solo and bare_solo:
        print(
            f"  at concurrency 1: ours {ours_solo.throughput:.2f}, "
            f"bare {bare_solo.throughput:.2f} orders/s"
        )
    print()
    print("until the workflows complete (after the last order counted):")
    tail = ours.tail_s
    print(
        f"  ours: all {len(ours.order_ids)} completed {ours.completion_s:.1f} s after the last "
        f"accept-delivery; accept_delivery -> completed per order: p50 "
        f"{percentile(tail, 50):.2f} s, max {max(tail, default=float('nan')):.2f} s "
        f"(retention is {30 * opts.retention_day:.2f} s)"
    )
    for side in (bare, minimal):
        print(
            f"  {side.name}: all {len(side.order_ids)} completed {side.completion_s:.1f} s "
            "after the last update"
        )
    print()
    print("CPU and memory while the orders ran:")
    print(" ours:")
    print("\n".join(cpu_lines(ours)))
    for side in (bare, minimal):
        print(f" {side.name}:")
        print("\n".join(cpu_lines(side)))
    print(
        "  our processes' lifetime peak RSS (VmHWM, logins included): "
        + ", ".join(f"{k} {v:.1f} MB" for k, v in lifetime_peak.items())
    )
    print()
    ratio = ours.throughput / bare.throughput
    print("targets:")
    print(f"  throughput ratio >= 0.8: {ratio:.2f} ({'met' if ratio >= 0.8 else 'NOT met'})")
    r_min = ours.throughput / minimal.throughput
    print(f"  ratio vs minimal >= 0.4: {r_min:.2f} ({'met' if r_min >= 0.4 else 'NOT met'})")
    for label, a, b in (("concurrency 1", ours_solo, bare_solo), ("loaded", ours, bare)):
        if a is None or b is None:
            continue
        ours_p50 = percentile(a.pooled_actions(), 50) * 1000
        bare_p50 = percentile(b.pooled_actions(), 50) * 1000
        diff = ours_p50 - bare_p50
        verdict = "met" if diff <= 15 else "NOT met"
        print(
            f"  action p50 within 15 ms of update p50, {label} (concurrency {a.concurrency}): "
            f"{ours_p50:.1f} - {bare_p50:.1f} = {diff:+.1f} ms ({verdict})"
        )
    # At a fixed number in flight, latency = in flight / throughput (Little's law): once the
    # cores are saturated, the loaded p50 gap is the throughput ratio restated, not a cost of
    # each action; the unloaded one is.


def decompose(ours: Phase, service: Phase, bare: Phase) -> None:
    """Where the gap goes: bare SDK -> our workflow and worker -> plus HTTP and the API."""
    print()
    print("decomposition (--decompose): the same orders through OrderService, no HTTP:")
    print(
        f"  throughput: bare {bare.throughput:.2f} -> workflow+worker+DB {service.throughput:.2f}"
        f" -> + HTTP API {ours.throughput:.2f} orders/s"
    )
    p50 = [percentile(p.pooled_actions(), 50) * 1000 for p in (bare, service, ours)]
    print(f"  action p50: bare {p50[0]:.1f} -> service {p50[1]:.1f} -> HTTP {p50[2]:.1f} ms")
    print(" service-level run:")
    print("\n".join(cpu_lines(service)))
