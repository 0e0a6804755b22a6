"""Webhook deliveries, stored once by event id, and the newest event applied per object.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 10:00:00.000000

Frozen history: edit only to fix a mistake before it was released. The schema name is read
at run time (PELCRO_SCHEMA), like 0001.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMPTZ = sa.TIMESTAMP(timezone=True)


def _schema() -> str:
    """The schema being migrated: env.py puts the version table there."""
    return op.get_context().version_table_schema or "pelcro"


def upgrade() -> None:
    schema = _schema()
    op.create_table(
        "_webhook_events",
        sa.Column("event_id", sa.Text(), nullable=False, comment="Pelcro's evt_... id"),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMPTZ, nullable=False, comment="the envelope's `created`"),
        sa.Column("received_at", TIMESTAMPTZ, nullable=False),
        sa.Column("entity", sa.Text(), nullable=True, comment="entity table the type concerns"),
        sa.Column(
            "site_id", sa.BigInteger(), nullable=True, comment="object's site_id or site_ids[0]"
        ),
        sa.Column("object_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "payload",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the envelope as delivered",
        ),
        sa.Column("applied_at", TIMESTAMPTZ, nullable=True),
        sa.Column(
            "apply_note", sa.Text(), nullable=True, comment="applied, stale, unknown type, ..."
        ),
        sa.Column(
            "apply_error", sa.Text(), nullable=True, comment="one-line reason it could not apply"
        ),
        sa.PrimaryKeyConstraint("event_id", name="_webhook_events_pkey"),
        schema=schema,
    )
    op.create_index(
        "ix__webhook_events_applied_at_created_at",
        "_webhook_events",
        ["applied_at", "created_at"],
        schema=schema,
    )
    op.create_index(
        "ix__webhook_events_entity_object_id",
        "_webhook_events",
        ["entity", "object_id"],
        schema=schema,
    )
    op.create_table(
        "_webhook_applied",
        sa.Column("site_id", sa.BigInteger(), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column("last_event_created", TIMESTAMPTZ, nullable=False),
        sa.Column("last_event_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "entity", "object_id", name="_webhook_applied_pkey"),
        schema=schema,
    )


def downgrade() -> None:
    schema = _schema()
    op.drop_table("_webhook_applied", schema=schema)
    op.drop_index("ix__webhook_events_entity_object_id", "_webhook_events", schema=schema)
    op.drop_index("ix__webhook_events_applied_at_created_at", "_webhook_events", schema=schema)
    op.drop_table("_webhook_events", schema=schema)
