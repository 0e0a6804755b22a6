"""Remember, per site and entity, which undeclared and absent fields were already reported.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 22:55:00

Frozen history: the schema name is read at run time (PELCRO_SCHEMA).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _schema() -> str:
    """The schema being migrated: env.py puts the version table there."""
    return op.get_context().version_table_schema or "pelcro"


def upgrade() -> None:
    op.add_column(
        "_sync_state",
        sa.Column(
            "drift_baseline",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="undeclared and absent fields already reported: {new: [...], missing: [...]}",
        ),
        schema=_schema(),
    )


def downgrade() -> None:
    op.drop_column("_sync_state", "drift_baseline", schema=_schema())
