"""recognition_state: the model generation as a real column, out of the settings table

Until 0003 the generation was a hidden ``_model_generation`` row among the saved settings.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_KEY = "_model_generation"


def upgrade() -> None:
    state = op.create_table(
        "recognition_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("model_generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recognition_state")),
    )
    settings = sa.table("settings", sa.column("key", sa.String), sa.column("value", sa.Text))
    value = op.get_bind().execute(sa.select(settings.c.value).where(settings.c.key == _KEY)).scalar()
    op.bulk_insert(state, [{"id": 1, "model_generation": int(value) if value is not None else 0}])
    op.execute(settings.delete().where(settings.c.key == _KEY))


def downgrade() -> None:
    state = sa.table("recognition_state", sa.column("model_generation", sa.Integer))
    value = op.get_bind().execute(sa.select(state.c.model_generation)).scalar()
    if value:
        settings = sa.table("settings", sa.column("key", sa.String), sa.column("value", sa.Text))
        op.bulk_insert(settings, [{"key": _KEY, "value": str(value)}])
    op.drop_table("recognition_state")
