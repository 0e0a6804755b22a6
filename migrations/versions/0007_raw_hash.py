"""`_raw_hash` on every entity table: a scan skips the records whose hash is unchanged.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 09:40:00

Frozen history: the schema name is read at run time (PELCRO_SCHEMA). A nullable column
with no default: Postgres adds it to the catalog only, whatever the table's size. Existing
rows keep a null hash ("not known"): the next full scan types and merges them once, finds
them unchanged (no row, no history version written) and fills their hash in.

Note: revises 0005 as written; `0006_erasures` is being added on another branch, and the
lead re-chains this revision onto it at merge.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENTITY_TABLES = (
    "addresses", "bills", "charges", "coupons", "customers", "ecommerce_products", "invoices",
    "memberships", "newsletters", "orders", "organizations", "plans", "products", "refunds",
    "skus", "sources", "subscriptions", "vendors",
)  # fmt: skip


def _schema() -> str:
    """The schema being migrated: env.py puts the version table there."""
    return op.get_context().version_table_schema or "pelcro"


def upgrade() -> None:
    schema = _schema()
    for name in ENTITY_TABLES:
        op.add_column(
            name,
            sa.Column(
                "_raw_hash",
                sa.BigInteger(),
                nullable=True,
                comment="hash of _raw (transform.raw_hash)",
            ),
            schema=schema,
        )


def downgrade() -> None:
    schema = _schema()
    for name in ENTITY_TABLES:
        op.drop_column(name, "_raw_hash", schema=schema)
