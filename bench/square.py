"""`make bench-square`: the creator square (rule S1) with 100,000 creators.

Creators are bulk-inserted into a fresh, migrated database (a temporary SQLite file; and a
temporary PostgreSQL database when the server answers), with spreads of quote, fans, plays and
category like a real marketplace's, 90 % of them orderable. Each typical query of the square is
timed through `services.creators.square` (the code the API runs), with the square indexes and
then, as the baseline in the same run, without them; EXPLAIN shows each plan.

`python -m bench.square --help` for the options."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url

from bench.stack import machine, percentile
from db.engine import make_engine
from db.migrate import upgrade
from db.schema import creators, users
from services.creators import SortBy, SquareQuery, sort_value, square, square_query

SQUARE_INDEXES = (
    "ix_creators_square_price",
    "ix_creators_square_fans",
    "ix_creators_square_plays",
    "ix_creators_square_category",
)
# Category weights: a few big verticals and a long tail, as on a real creator marketplace.
CATEGORIES = {
    "food": 18, "beauty": 15, "gaming": 12, "tech": 10, "fashion": 9, "travel": 8,
    "parenting": 7, "fitness": 6, "auto": 5, "finance": 4, "education": 4, "pets": 2,
}  # fmt: skip
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
CHUNK = 5_000


@dataclass(frozen=True)
class Case:
    name: str
    query: SquareQuery
    # Follow the cursor through this many pages first; the timed query is the next page.
    skip_pages: int = 0


CASES = (
    Case("price asc, first page (the default)", SquareQuery()),
    Case(
        "fans desc, fans >= 100k",
        SquareQuery(sort=SortBy.FANS, descending=True, min_fans=100_000),
    ),
    Case(
        "category food, price <= 3,000 yuan",
        SquareQuery(category="food", max_price_fen=300_000),
    ),
    Case(
        "plays desc, plays >= 20k",
        SquareQuery(sort=SortBy.PLAYS, descending=True, min_avg_plays=20_000),
    ),
    Case(
        "category pets, fans desc",
        SquareQuery(category="pets", sort=SortBy.FANS, descending=True),
    ),
    Case("price asc, page 51 (cursor)", SquareQuery(), skip_pages=50),
    Case(
        "fans desc, fans >= 100k, page 51",
        SquareQuery(sort=SortBy.FANS, descending=True, min_fans=100_000),
        skip_pages=50,
    ),
    Case(
        "category food, price <= 3,000 yuan, page 51",
        SquareQuery(category="food", max_price_fen=300_000),
        skip_pages=50,
    ),
    Case(
        "category pets, fans desc, page 51",
        SquareQuery(category="pets", sort=SortBy.FANS, descending=True),
        skip_pages=50,
    ),
)


def creator_rows(count: int, seed: int) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(user row, creator row) pairs with realistic spreads: quotes log-normal around 5,000
    yuan, fans heavy-tailed from the 10,000 needed to open the task, plays a share of fans."""
    rng = random.Random(seed)
    names, weights = list(CATEGORIES), list(CATEGORIES.values())
    now = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(count):
        user_id = f"sq-{i:06d}"
        orderable = rng.random() < 0.9
        fans = int(10_000 + rng.paretovariate(1.2) * 20_000)
        avg_plays = max(1_000, int(fans * rng.uniform(0.01, 0.3)))
        quote_yuan = min(500_000, max(500, rng.lognormvariate(8.5, 0.9)))
        user = {
            "id": user_id,
            "role": "creator",
            "display_name": f"Creator {i}",
            "created_at": now - timedelta(minutes=i),
            "phone": "13800138000",
            "email": f"{user_id}@example.com",
        }
        creator = {
            "user_id": user_id,
            "quote_fen": int(quote_yuan) * 100,
            "accepting_orders": orderable,
            "login_platform": "douyin",
            "login_account": f"dy-{user_id}",
            "xigua_account_id": f"xg-{user_id}",
            "task_opened_at": now,
            "fans": fans,
            "avg_plays": avg_plays,
            "category": rng.choices(names, weights)[0],
            "credit_score": 100,
            "orderable": orderable,
        }
        yield user, creator


def fill(engine: Engine, count: int, seed: int) -> float:
    started = time.perf_counter()
    rows = creator_rows(count, seed)
    while True:
        chunk = list(itertools.islice(rows, CHUNK))
        if not chunk:
            break
        with engine.begin() as conn:
            conn.execute(insert(users), [u for u, _ in chunk])
            conn.execute(insert(creators), [c for _, c in chunk])
    return time.perf_counter() - started


def resolve(engine: Engine, case: Case) -> SquareQuery:
    """The case's query, with the cursor of its page after `skip_pages` pages."""
    query = case.query
    for _ in range(case.skip_pages):
        page = square(engine, query)
        if not page:
            break
        query = replace(query, after=(sort_value(page[-1], query.sort), page[-1].user_id))
    return query


def explain(engine: Engine, query: SquareQuery) -> list[str]:
    sql = str(
        square_query(query).compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
    )
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()
            return [str(r[-1]) for r in rows]
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql).all()
        return [str(r[0]) for r in rows]


@dataclass
class Timing:
    p50_ms: float
    p95_ms: float
    rows: int


def time_query(engine: Engine, query: SquareQuery, repeat: int) -> Timing:
    rows = len(square(engine, query))  # warm the cache
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        square(engine, query)
        times.append(time.perf_counter() - started)
    return Timing(percentile(times, 50) * 1000, percentile(times, 95) * 1000, rows)


def bench_database(engine: Engine, label: str, repeat: int) -> None:
    queries = [(case, resolve(engine, case)) for case in CASES]
    with_ix = [time_query(engine, q, repeat) for _, q in queries]
    plans_ix = [explain(engine, q) for _, q in queries]
    with engine.begin() as conn:
        for index in SQUARE_INDEXES:
            conn.execute(text(f"DROP INDEX {index}"))
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE creators"))
    # New connections: SQLite would otherwise answer EXPLAIN from a statement prepared
    # before the indexes went.
    engine.dispose()
    without = [time_query(engine, q, repeat) for _, q in queries]
    plans_no = [explain(engine, q) for _, q in queries]

    print(f"\n{label}: ms per query, p50 / p95 of {repeat} runs (20 cards a page)")
    print(f"  {'query':<46} {'rows':>4} {'indexed':>17} {'no square index':>17} {'x':>6}")
    for (case, _), a, b in zip(queries, with_ix, without, strict=True):
        speedup = b.p50_ms / a.p50_ms if a.p50_ms else float("nan")
        print(
            f"  {case.name:<46} {a.rows:>4} {a.p50_ms:8.2f} {a.p95_ms:8.2f} "
            f"{b.p50_ms:8.2f} {b.p95_ms:8.2f} {speedup:5.0f}x"
        )
    print(f"\n{label}: query plans (with the square indexes | without them)")
    for (case, _), a_plan, b_plan in zip(queries, plans_ix, plans_no, strict=True):
        print(f"  {case.name}")
        print("\n".join(f"    with:    {line}" for line in a_plan))
        print("\n".join(f"    without: {line}" for line in b_plan))


@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    directory = Path(tempfile.mkdtemp(prefix="xigua-square-"))
    try:
        yield f"sqlite:///{directory / 'square.db'}"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A temporary database on the server of `server_url`, dropped afterwards."""
    url = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"xigua_square_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def run_on(url: str, label: str, count: int, seed: int, repeat: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    try:
        seconds = fill(engine, count, seed)
        with engine.begin() as conn:
            orderable = conn.execute(
                text("SELECT count(*) FROM creators WHERE orderable")
            ).scalar_one()
            if engine.dialect.name == "postgresql":
                # What autovacuum does soon after a bulk load; the planner needs the figures.
                conn.execute(text("ANALYZE"))
        print(
            f"\n{label}: {count:,} creators ({orderable:,} orderable) inserted in {seconds:.1f} s",
            flush=True,
        )
        bench_database(engine, label, repeat)
    finally:
        engine.dispose()


def postgres_answers(url: str) -> bool:
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect():
            return True
    except Exception as e:
        print(f"\nPostgreSQL at {url} does not answer ({type(e).__name__}); skipped")
        return False
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description="The creator square with many creators.")
    parser.add_argument("--creators", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50, help="timed runs of each query")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("XIGUA_TEST_POSTGRES_URL", DEFAULT_PG),
        help="server to make a temporary database on; 'none' to skip",
    )
    args = parser.parse_args()
    print("machine:", *machine(), sep="\n  ", flush=True)
    print(f"\nrun: python -m bench.square {' '.join(sys.argv[1:])}".rstrip())
    with sqlite_database() as url:
        run_on(url, "SQLite", args.creators, args.seed, args.repeat)
    if args.postgres != "none" and postgres_answers(args.postgres):
        with postgres_database(args.postgres) as url:
            run_on(url, "PostgreSQL", args.creators, args.seed, args.repeat)


if __name__ == "__main__":
    main()
