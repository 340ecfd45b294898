"""orders: the flags ops filter on (escalated, disputed, overdue), when a review began

Revision ID: 0006
Revises: 0005
Create Date: 2027-01-20 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import db.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The timeline's actions as of this revision; a migration keeps its own copy.
_HANDED_IN = ("submit_script", "submit_video", "republish")


def _backfill() -> None:
    """Give running orders what the workflow will write with their next transition: a flag
    set by a timeline entry that no later change of status (or publication review) undid,
    and the time of the last hand-in for review."""
    orders = sa.table(
        "orders",
        sa.column("id", sa.String),
        sa.column("escalated", sa.Boolean),
        sa.column("overdue", sa.Boolean),
        sa.column("submitted_for_review_at", db.types.UTCDateTime()),
    )
    entry = sa.table(
        "order_timeline",
        sa.column("order_id", sa.String),
        sa.column("seq", sa.Integer),
        sa.column("at", db.types.UTCDateTime()),
        sa.column("action", sa.String),
        sa.column("from_status", sa.String),
        sa.column("to_status", sa.String),
    )
    later = entry.alias("later")

    def standing(action: str, cleared_also_by: tuple[str, ...]) -> sa.ColumnElement[bool]:
        flagged = entry.alias(f"flagged_{action}")
        undone = (
            sa.select(later.c.seq)
            .where(
                later.c.order_id == flagged.c.order_id,
                later.c.seq > flagged.c.seq,
                sa.or_(
                    later.c.from_status.is_(None),
                    later.c.from_status != later.c.to_status,
                    later.c.action.in_(cleared_also_by),
                ),
            )
            .exists()
        )
        return (
            sa.select(flagged.c.seq)
            .where(flagged.c.order_id == orders.c.id, flagged.c.action == action, ~undone)
            .exists()
        )

    conn = op.get_bind()
    conn.execute(
        orders.update().where(standing("escalate", ("review_publication",))).values(escalated=True)
    )
    conn.execute(orders.update().where(standing("overdue", ())).values(overdue=True))
    conn.execute(
        orders.update().values(
            submitted_for_review_at=sa.select(sa.func.max(entry.c.at))
            .where(entry.c.order_id == orders.c.id, entry.c.action.in_(_HANDED_IN))
            .scalar_subquery()
        )
    )


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        # A plain '0' (false on both databases), not an SQL expression: with it SQLite adds
        # the column in place, where an expression would make Alembic copy the table, which
        # the timeline's foreign key to it refuses.
        for flag in ("escalated", "disputed", "overdue"):
            batch_op.add_column(sa.Column(flag, sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("submitted_for_review_at", db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_orders_created", ["created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_orders_status_created", ["status", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_orders_deadline", ["deadline"], unique=False)
        batch_op.create_index(
            "ix_orders_attention_created",
            ["created_at", "id"],
            unique=False,
            sqlite_where=sa.text("escalated = 1 OR disputed = 1 OR overdue = 1"),
            postgresql_where=sa.text("escalated OR disputed OR overdue"),
        )
        batch_op.create_index(
            "ix_orders_status_review", ["status", "submitted_for_review_at", "id"], unique=False
        )
    _backfill()


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for index in (
            "ix_orders_status_review",
            "ix_orders_attention_created",
            "ix_orders_deadline",
            "ix_orders_status_created",
            "ix_orders_created",
        ):
            batch_op.drop_index(index)
        for column in ("submitted_for_review_at", "overdue", "disputed", "escalated"):
            batch_op.drop_column(column)
