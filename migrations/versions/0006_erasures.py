"""`_erasures`: one row per `pelcro-sync forget`, who erased whose personal data and where.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 10:00:00.000000

Frozen history: edit only to fix a mistake before it was released. The schema name is read
at run time (PELCRO_SCHEMA), like 0001. The table is the evidence that an erasure was
done, so the downgrade refuses to drop it while it holds rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMPTZ = sa.TIMESTAMP(timezone=True)


def _schema() -> str:
    """The schema being migrated: env.py puts the version table there."""
    return op.get_context().version_table_schema or "pelcro"


def upgrade() -> None:
    schema = _schema()
    op.create_table(
        "_erasures",
        sa.Column("erasure_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("site_id", sa.BigInteger(), nullable=True, comment="null: every site"),
        sa.Column(
            "sites",
            postgresql.ARRAY(sa.BigInteger()),
            nullable=False,
            comment="sites the customer was on",
        ),
        sa.Column("erased_at", TIMESTAMPTZ, server_default=sa.text("now()"), nullable=False),
        sa.Column("erased_by", sa.Text(), nullable=False),
        sa.Column("database_role", sa.Text(), nullable=False),
        sa.Column(
            "row_counts",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="table -> rows changed",
        ),
        sa.Column("rows_changed", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("erasure_id", name="_erasures_pkey"),
        schema=schema,
    )
    op.create_index("ix__erasures_customer_id", "_erasures", ["customer_id"], schema=schema)


def downgrade() -> None:
    schema = _schema()
    if not op.get_context().as_sql:
        found = op.get_bind().exec_driver_sql(f'SELECT 1 FROM "{schema}"._erasures LIMIT 1')
        if found.first() is not None:
            raise RuntimeError(
                f"{schema}._erasures records erasures that were done; refusing to downgrade "
                "below 0006 (drop the table by hand if you mean it)"
            )
    op.drop_index("ix__erasures_customer_id", table_name="_erasures", schema=schema)
    op.drop_table("_erasures", schema=schema)
