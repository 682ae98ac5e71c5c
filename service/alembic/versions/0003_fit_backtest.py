"""fits.backtest: scores of the held-out runs of a fit submitted with a holdout

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fits") as batch:
        batch.add_column(sa.Column("backtest", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fits") as batch:
        batch.drop_column("backtest")
