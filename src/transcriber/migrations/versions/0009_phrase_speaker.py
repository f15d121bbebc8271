"""phrases.speaker: who said the phrase, in tasks split by speaker (the channels of a call)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("phrases") as batch:
        batch.add_column(sa.Column("speaker", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("phrases") as batch:
        batch.drop_column("speaker")
