"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

Frozen history: edit only to fix a mistake before it was released. The schema name is read
at run time (PELCRO_SCHEMA), so replace the literal schema autogenerate wrote with `schema`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
revision: str = ${repr(up_revision)}
down_revision: str | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def _schema() -> str:
    """The schema being migrated: env.py puts the version table there."""
    return op.get_context().version_table_schema or "pelcro"


def upgrade() -> None:
    schema = _schema()
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    schema = _schema()
    ${downgrades if downgrades else "pass"}
