"""tasks.progress_estimated and engine_speeds: progress between checkpoints, a speed before any task

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from transcriber.schema import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(
            sa.Column("progress_estimated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "engine_speeds",
        sa.Column("model", sa.String(length=500), nullable=False),
        sa.Column("device", sa.String(length=20), nullable=False),
        sa.Column("compute_type", sa.String(length=30), nullable=False),
        sa.Column("audio_seconds", sa.Float(), nullable=False),
        sa.Column("wall_seconds", sa.Float(), nullable=False),
        sa.Column("measured_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("model", "device", "compute_type", name=op.f("pk_engine_speeds")),
    )


def downgrade() -> None:
    op.drop_table("engine_speeds")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("progress_estimated")
