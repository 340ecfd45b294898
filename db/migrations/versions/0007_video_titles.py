"""video titles: the simulated platform's videos have a title and a description (B2)

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-20 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("platform_videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("platform_videos", schema=None) as batch_op:
        batch_op.drop_column("description")
        batch_op.drop_column("title")
