"""tasks.redecoded_windows and tasks.dropped_phrases: what the guards against invented text did

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("redecoded_windows", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("dropped_phrases", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("dropped_phrases")
        batch.drop_column("redecoded_windows")
