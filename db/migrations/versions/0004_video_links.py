"""video links: each video linked to one order only

Revision ID: 0004_video_links
Revises: 0003
Create Date: 2026-12-14 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import db.types

revision = "0004_video_links"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "video_links",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("video_id", sa.String(length=64), nullable=False),
        sa.Column("xigua_account_id", sa.String(length=64), nullable=False),
        sa.Column("linked_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "video_id", name=op.f("pk_video_links")),
        sa.UniqueConstraint("video_id", name=op.f("uq_video_links_video_id")),
    )


def downgrade() -> None:
    op.drop_table("video_links")
