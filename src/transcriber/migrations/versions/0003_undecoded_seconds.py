"""tasks.undecoded_seconds: how much of a damaged recording could not be decoded

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 13:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("undecoded_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("undecoded_seconds")
