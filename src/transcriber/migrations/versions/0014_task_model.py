"""tasks.model: the model a task names (for the workers' model affinity), filled for queued tasks

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 21:30:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("model", sa.String(length=500), nullable=True))
    # Tasks still waiting keep the model they asked for; finished ones are never claimed again.
    conn = op.get_bind()
    tasks = sa.table("tasks", sa.column("id", sa.String), sa.column("status", sa.String),
                     sa.column("options", sa.Text), sa.column("model", sa.String))  # fmt: skip
    waiting = conn.execute(sa.select(tasks.c.id, tasks.c.options).where(tasks.c.status == "PENDING")).all()
    for task_id, options in waiting:
        try:
            model = json.loads(options or "{}").get("model")
        except (ValueError, AttributeError):
            continue
        if isinstance(model, str) and model:
            conn.execute(sa.update(tasks).where(tasks.c.id == task_id).values(model=model[:500]))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("model")
