"""Scan tracking for delete detection: ids seen by the scan in flight, deletion candidates.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 09:00:00.000000

Frozen history: edit only to fix a mistake before it was released. The schema name is read
at run time (PELCRO_SCHEMA), like 0001.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _schema() -> str:
    """The schema being migrated: env.py puts the version table there."""
    return op.get_context().version_table_schema or "pelcro"


def upgrade() -> None:
    schema = _schema()
    op.create_table(
        "_scan_seen",
        sa.Column("site_id", sa.BigInteger(), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "entity", "id", name="_scan_seen_pkey"),
        schema=schema,
    )
    op.create_table(
        "_delete_candidates",
        sa.Column("site_id", sa.BigInteger(), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("first_missed_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column(
            "misses",
            sa.Integer(),
            server_default=sa.text("1"),
            nullable=False,
            comment="complete scans in a row that did not see the record",
        ),
        sa.PrimaryKeyConstraint("site_id", "entity", "id", name="_delete_candidates_pkey"),
        schema=schema,
    )


def downgrade() -> None:
    schema = _schema()
    op.drop_table("_delete_candidates", schema=schema)
    op.drop_table("_scan_seen", schema=schema)
