"""The creator square's queries: right on both databases, and served by the square indexes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, text
from sqlalchemy.dialects import sqlite

from db.schema import creators, users
from services.creators import SortBy, SquareQuery, square, square_query

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def add_creators(engine: Engine, count: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(users),
            [
                {"id": f"c{i:04d}", "role": "creator", "display_name": f"c{i}", "created_at": NOW}
                for i in range(count)
            ],
        )
        conn.execute(
            insert(creators),
            [
                {
                    "user_id": f"c{i:04d}",
                    "quote_fen": 10_000 * (i % 7 + 1),
                    "accepting_orders": True,
                    "fans": 1_000 * (i % 11),
                    "avg_plays": 100 * (i % 5),
                    "category": ("food", "tech", "beauty")[i % 3],
                    "credit_score": 100,
                    # Every tenth is not orderable: it must never show.
                    "orderable": i % 10 != 0,
                    "task_opened_at": NOW,
                }
                for i in range(count)
            ],
        )


def walk(engine: Engine, query: SquareQuery) -> list[tuple[int, str]]:
    """Every card, page by page through the keyset cursor."""
    seen: list[tuple[int, str]] = []
    after = None
    while True:
        page = square(engine, SquareQuery(**{**vars(query), "after": after, "limit": 7}))
        key = {SortBy.PRICE: "quote_fen", SortBy.FANS: "fans", SortBy.PLAYS: "avg_plays"}[
            query.sort
        ]
        seen += [(getattr(r, key), r.user_id) for r in page]
        if len(page) < 7:
            return seen
        after = seen[-1]


def test_pages_cover_every_orderable_creator_once_in_order(engine: Engine) -> None:
    # rule S1
    add_creators(engine, 100)
    for sort in SortBy:
        for descending in (False, True):
            q = SquareQuery(sort=sort, descending=descending, min_fans=2_000, category="food")
            cards = walk(engine, q)
            assert cards == sorted(cards, reverse=descending)
            assert len(set(cards)) == len(cards)
            expected = {
                f"c{i:04d}"
                for i in range(100)
                if i % 10 and i % 3 == 0 and 1_000 * (i % 11) >= 2_000
            }
            assert {c for _, c in cards} == expected


def test_the_square_uses_its_indexes(sqlite_engine: Engine) -> None:
    # rule S1: each sort is an index scan, never a sort of the whole table
    add_creators(sqlite_engine, 300)
    with sqlite_engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        for sort in SortBy:
            statement = square_statement(SquareQuery(sort=sort, max_price_fen=50_000))
            plan = " | ".join(
                str(row[-1]) for row in conn.execute(text(f"EXPLAIN QUERY PLAN {statement}"))
            )
            assert "ix_creators_square_" in plan, plan
            assert "TEMP B-TREE FOR ORDER BY" not in plan, plan


def square_statement(q: SquareQuery) -> str:
    """The SQL that `square` runs, with its parameters inlined, for EXPLAIN."""
    compiled = square_query(q).compile(
        dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}
    )
    return str(compiled)
