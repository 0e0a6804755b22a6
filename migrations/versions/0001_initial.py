"""Initial warehouse: the 18 entity tables and the sync bookkeeping (_sync_runs, _sync_state).

Revision ID: 0001
Revises:
Create Date: 2026-11-27 21:13:11.444310

Frozen history: edit only to fix a mistake before it was released. The schema name is read
at run time (PELCRO_SCHEMA), so replace the literal schema autogenerate wrote with `schema`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _schema() -> str:
    """The schema being migrated: env.py puts the version table there."""
    return op.get_context().version_table_schema or "pelcro"


def upgrade() -> None:
    schema = _schema()
    op.create_table(
        "_sync_runs",
        sa.Column("run_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("site_id", sa.BigInteger(), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("mode", sa.Text(), nullable=False, comment="full, incremental, scan, ..."),
        sa.Column("started_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("finished_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("records_read", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("inserted", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("unchanged", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("deleted", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("requests", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("retries", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("throttled", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "type_errors",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="field -> values that did not cast",
        ),
        sa.Column("error", sa.Text(), nullable=True, comment="one-line reason, secrets redacted"),
        sa.Column("host", sa.Text(), nullable=True),
        sa.Column(
            "pid", sa.Integer(), nullable=True, comment="process that ran it, to spot dead runs"
        ),
        sa.CheckConstraint(
            "status in ('running', 'succeeded', 'failed')", name="ck__sync_runs_status"
        ),
        sa.PrimaryKeyConstraint("run_id"),
        schema=schema,
    )
    op.create_index(
        "ix__sync_runs_site_id_entity_started_at",
        "_sync_runs",
        ["site_id", "entity", "started_at"],
        unique=False,
        schema=schema,
    )
    op.create_index("ix__sync_runs_status", "_sync_runs", ["status"], unique=False, schema=schema)
    op.create_table(
        "_sync_state",
        sa.Column("site_id", sa.BigInteger(), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("last_complete_scan_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "last_complete_scan_total", sa.BigInteger(), nullable=True, comment="API meta.total"
        ),
        sa.Column("scan_started_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("scan_run_id", sa.Uuid(as_uuid=False), nullable=True),
        sa.Column(
            "scan_next_page", sa.Integer(), nullable=True, comment="next page of the scan in flight"
        ),
        sa.Column("scan_sort", sa.Text(), nullable=True),
        sa.Column("max_id_seen", sa.BigInteger(), nullable=True),
        sa.Column("last_success_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "entity", name="_sync_state_pkey"),
        schema=schema,
    )
    op.create_table(
        "addresses",
        sa.Column(
            "site_id", sa.BigInteger(), nullable=False, comment="site the record was read through"
        ),
        sa.Column("id", sa.BigInteger(), nullable=False, comment="Pelcro's id"),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("type", sa.Text(), nullable=True),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("line1", sa.Text(), nullable=True),
        sa.Column("line2", sa.Text(), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("postal_code", sa.Text(), nullable=True),
        sa.Column("company", sa.Text(), nullable=True),
        sa.Column("department", sa.Text(), nullable=True),
        sa.Column("salutation", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("old_provider_id", sa.Text(), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "_raw",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the record exactly as the API sent it",
        ),
        sa.Column("_synced_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("_deleted_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("site_id", "id", name="addresses_pkey"),
        schema=schema,
    )
    op.create_index(
        "ix_addresses_created_at", "addresses", ["created_at"], unique=False, schema=schema
    )
    op.create_index("ix_addresses_user_id", "addresses", ["user_id"], unique=False, schema=schema)
    op.create_table(
        "bills",
        sa.Column(
            "site_id", sa.BigInteger(), nullable=False, comment="site the record was read through"
        ),
        sa.Column("id", sa.BigInteger(), nullable=False, comment="Pelcro's id"),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("amount_due", sa.BigInteger(), nullable=True),
        sa.Column("amount_paid", sa.BigInteger(), nullable=True),
        sa.Column("amount_remaining", sa.BigInteger(), nullable=True),
        sa.Column("subtotal", sa.BigInteger(), nullable=True),
        sa.Column("total", sa.BigInteger(), nullable=True),
        sa.Column("number", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("footer", sa.Text(), nullable=True),
        sa.Column("purchase_order", sa.Text(), nullable=True),
        sa.Column("hosted_bill_url", sa.Text(), nullable=True),
        sa.Column("bill_pdf", sa.Text(), nullable=True),
        sa.Column("status_label", sa.Text(), nullable=True),
        sa.Column("status_value", sa.Text(), nullable=True),
        sa.Column("paid", sa.Boolean(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("line_items", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("vendor", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("billing_address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("address_billing", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("period_start", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("period_end", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("created", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("finalized_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("paid_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("voided_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "_raw",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the record exactly as the API sent it",
        ),
        sa.Column("_synced_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("_deleted_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("site_id", "id", name="bills_pkey"),
        schema=schema,
    )
    op.create_index("ix_bills_status", "bills", ["status"], unique=False, schema=schema)
    op.create_index("ix_bills_updated_at", "bills", ["updated_at"], unique=False, schema=schema)
    op.create_index("ix_bills_user_id", "bills", ["user_id"], unique=False, schema=schema)
    op.create_table(
        "charges",
        sa.Column(
            "site_id", sa.BigInteger(), nullable=False, comment="site the record was read through"
        ),
        sa.Column("id", sa.BigInteger(), nullable=False, comment="Pelcro's id"),
        sa.Column("invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("amount_refunded", sa.BigInteger(), nullable=True),
        sa.Column("offline_entered_by", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("statement_descriptor", sa.Text(), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("payment_category", sa.Text(), nullable=True),
        sa.Column("paid", sa.Boolean(), nullable=True),
        sa.Column("refunded", sa.Boolean(), nullable=True),
        sa.Column("offline", sa.Boolean(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "_raw",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the record exactly as the API sent it",
        ),
        sa.Column("_synced_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("_deleted_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("site_id", "id", name="charges_pkey"),
        schema=schema,
    )
    op.create_index("ix_charges_created_at", "charges", ["created_at"], unique=False, schema=schema)
    op.create_index("ix_charges_invoice_id", "charges", ["invoice_id"], unique=False, schema=schema)
    op.create_index("ix_charges_status", "charges", ["status"], unique=False, schema=schema)
    op.create_table(
        "coupons",
        sa.Column(
            "site_id", sa.BigInteger(), nullable=False, comment="site the record was read through"
        ),
        sa.Column("id", sa.BigInteger(), nullable=False, comment="Pelcro's id"),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("duration", sa.Text(), nullable=True),
        sa.Column("percent_off", sa.Numeric(), nullable=True),
        sa.Column("amount_off", sa.BigInteger(), nullable=True),
        sa.Column("max_redemptions", sa.BigInteger(), nullable=True),
        sa.Column("plans", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("redeem_by", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "_raw",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the record exactly as the API sent it",
        ),
        sa.Column("_synced_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("_deleted_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("site_id", "id", name="coupons_pkey"),
        schema=schema,
    )
    op.create_index("ix_coupons_code", "coupons", ["code"], unique=False, schema=schema)
    op.create_table(
        "customers",
        sa.Column(
            "site_id", sa.BigInteger(), nullable=False, comment="site the record was read through"
        ),
        sa.Column("id", sa.BigInteger(), nullable=False, comment="Pelcro's id"),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("username", sa.Text(), nullable=True),
        sa.Column("salutation", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("tin", sa.Text(), nullable=True),
        sa.Column("old_provider_id", sa.Text(), nullable=True),
        sa.Column("email_confirm", sa.Boolean(), nullable=True),
        sa.Column("email_hardbounce", sa.Boolean(), nullable=True),
        sa.Column("phone_confirm", sa.Boolean(), nullable=True),
        sa.Column("mail_marketing", sa.Boolean(), nullable=True),
        sa.Column("tele_marketing", sa.Boolean(), nullable=True),
        sa.Column("has_password", sa.Boolean(), nullable=True),
        sa.Column("is_imported", sa.Boolean(), nullable=True),
        sa.Column("organization", sa.BigInteger(), nullable=True),
        sa.Column("default_source_id", sa.BigInteger(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("default_source", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("addresses", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("subscriptions", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("password_last_updated_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "_raw",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the record exactly as the API sent it",
        ),
        sa.Column("_synced_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("_deleted_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("site_id", "id", name="customers_pkey"),
        schema=schema,
    )
    op.create_index(
        "ix_customers_created_at", "customers", ["created_at"], unique=False, schema=schema
    )
    op.create_index("ix_customers_email", "customers", ["email"], unique=False, schema=schema)
    op.create_index(
        "ix_customers_organization", "customers", ["organization"], unique=False, schema=schema
    )
    op.create_table(
        "ecommerce_products",
        sa.Column(
            "site_id", sa.BigInteger(), nullable=False, comment="site the record was read through"
        ),
        sa.Column("id", sa.BigInteger(), nullable=False, comment="Pelcro's id"),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("caption", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("image", sa.Text(), nullable=True),
        sa.Column("shippable", sa.Boolean(), nullable=True),
        sa.Column("countries", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("sites", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "_raw",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the record exactly as the API sent it",
        ),
        sa.Column("_synced_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("_deleted_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("site_id", "id", name="ecommerce_products_pkey"),
        schema=schema,
    )
    op.create_table(
        "invoices",
        sa.Column(
            "site_id", sa.BigInteger(), nullable=False, comment="site the record was read through"
        ),
        sa.Column("id", sa.BigInteger(), nullable=False, comment="Pelcro's id"),
        sa.Column("subscription_id", sa.BigInteger(), nullable=True),
        sa.Column("customer", sa.BigInteger(), nullable=True),
        sa.Column("amount_due", sa.BigInteger(), nullable=True),
        sa.Column("amount_paid", sa.BigInteger(), nullable=True),
        sa.Column("amount_remaining", sa.BigInteger(), nullable=True),
        sa.Column("ending_balance", sa.BigInteger(), nullable=True),
        sa.Column("total", sa.BigInteger(), nullable=True),
        sa.Column("subtotal", sa.BigInteger(), nullable=True),
        sa.Column("tax", sa.BigInteger(), nullable=True),
        sa.Column("number", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("billing", sa.Text(), nullable=True),
        sa.Column("billing_reason", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("hosted_invoice_url", sa.Text(), nullable=True),
        sa.Column("invoice_pdf", sa.Text(), nullable=True),
        sa.Column("auto_advance", sa.Boolean(), nullable=True),
        sa.Column("paid", sa.Boolean(), nullable=True),
        sa.Column("is_imported", sa.Boolean(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("due_date", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("period_start", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("period_end", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("created", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("finalized_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "_raw",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the record exactly as the API sent it",
        ),
        sa.Column("_synced_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("_deleted_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("site_id", "id", name="invoices_pkey"),
        schema=schema,
    )
    op.create_index(
        "ix_invoices_created_at", "invoices", ["created_at"], unique=False, schema=schema
    )
    op.create_index("ix_invoices_customer", "invoices", ["customer"], unique=False, schema=schema)
    op.create_index("ix_invoices_status", "invoices", ["status"], unique=False, schema=schema)
    op.create_index(
        "ix_invoices_subscription_id", "invoices", ["subscription_id"], unique=False, schema=schema
    )
    op.create_table(
        "memberships",
        sa.Column(
            "site_id", sa.BigInteger(), nullable=False, comment="site the record was read through"
        ),
        sa.Column("id", sa.BigInteger(), nullable=False, comment="Pelcro's id"),
        sa.Column("subscription_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("address_id", sa.BigInteger(), nullable=True),
        sa.Column("invitation_email", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("old_provider_id", sa.Text(), nullable=True),
        sa.Column("subscription", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "_raw",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the record exactly as the API sent it",
        ),
        sa.Column("_synced_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("_deleted_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("site_id", "id", name="memberships_pkey"),
        schema=schema,
    )
    op.create_index("ix_memberships_status", "memberships", ["status"], unique=False, schema=schema)
    op.create_index(
        "ix_memberships_subscription_id",
        "memberships",
        ["subscription_id"],
        unique=False,
        schema=schema,
    )
    op.create_index(
        "ix_memberships_user_id", "memberships", ["user_id"], unique=False, schema=schema
    )
    op.create_table(
        "newsletters",
        sa.Column(
            "site_id", sa.BigInteger(), nullable=False, comment="site the record was read through"
        ),
        sa.Column("id", sa.BigInteger(), nullable=False, comment="Pelcro's id"),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("lists", sa.Text(), nullable=True),
        sa.Column("postal_code", sa.Text(), nullable=True),
        sa.Column("consent_url", sa.Text(), nullable=True),
        sa.Column("consent_ip", sa.Text(), nullable=True),
        sa.Column("consent_text", sa.Text(), nullable=True),
        sa.Column("consent_type", sa.Text(), nullable=True),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "_raw",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the record exactly as the API sent it",
        ),
        sa.Column("_synced_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("_deleted_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("site_id", "id", name="newsletters_pkey"),
        schema=schema,
    )
    op.create_index("ix_newsletters_email", "newsletters", ["email"], unique=False, schema=schema)
    op.create_table(
        "orders",
        sa.Column(
            "site_id", sa.BigInteger(), nullable=False, comment="site the record was read through"
        ),
        sa.Column("id", sa.BigInteger(), nullable=False, comment="Pelcro's id"),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("address_id", sa.BigInteger(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("items", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "_raw",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the record exactly as the API sent it",
        ),
        sa.Column("_synced_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("_deleted_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("site_id", "id", name="orders_pkey"),
        schema=schema,
    )
    op.create_index("ix_orders_created_at", "orders", ["created_at"], unique=False, schema=schema)
    op.create_index("ix_orders_status", "orders", ["status"], unique=False, schema=schema)
    op.create_index("ix_orders_user_id", "orders", ["user_id"], unique=False, schema=schema)
    op.create_table(
        "organizations",
        sa.Column(
            "site_id", sa.BigInteger(), nullable=False, comment="site the record was read through"
        ),
        sa.Column("id", sa.BigInteger(), nullable=False, comment="Pelcro's id"),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("customers_count", sa.BigInteger(), nullable=True),
        sa.Column("customers", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "_raw",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the record exactly as the API sent it",
        ),
        sa.Column("_synced_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("_deleted_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("site_id", "id", name="organizations_pkey"),
        schema=schema,
    )
    op.create_table(
        "plans",
        sa.Column(
            "site_id", sa.BigInteger(), nullable=False, comment="site the record was read through"
        ),
        sa.Column("id", sa.BigInteger(), nullable=False, comment="Pelcro's id"),
        sa.Column("product_id", sa.BigInteger(), nullable=True),
        sa.Column("parent_plan_id", sa.BigInteger(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("interval_count", sa.BigInteger(), nullable=True),
        sa.Column("trial_period_days", sa.BigInteger(), nullable=True),
        sa.Column("shipments_per_interval", sa.BigInteger(), nullable=True),
        sa.Column("member_seat_capacity", sa.BigInteger(), nullable=True),
        sa.Column("agency_id", sa.BigInteger(), nullable=True),
        sa.Column("group_owner_plan_id", sa.BigInteger(), nullable=True),
        sa.Column("auto_uncollectible_days", sa.BigInteger(), nullable=True),
        sa.Column("object_id", sa.Text(), nullable=True),
        sa.Column("nickname", sa.Text(), nullable=True),
        sa.Column("name_internal", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("type", sa.Text(), nullable=True),
        sa.Column("active", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("interval", sa.Text(), nullable=True),
        sa.Column("renewal_strategy", sa.Text(), nullable=True),
        sa.Column("recognized_revenue_type", sa.Text(), nullable=True),
        sa.Column("apple_product_id", sa.Text(), nullable=True),
        sa.Column("gift_description", sa.Text(), nullable=True),
        sa.Column("image", sa.Text(), nullable=True),
        sa.Column("old_provider_id", sa.Text(), nullable=True),
        sa.Column("auto_renew", sa.Boolean(), nullable=True),
        sa.Column("available_online", sa.Boolean(), nullable=True),
        sa.Column("is_hidden", sa.Boolean(), nullable=True),
        sa.Column("is_donation", sa.Boolean(), nullable=True),
        sa.Column("is_imported", sa.Boolean(), nullable=True),
        sa.Column("refundable", sa.Boolean(), nullable=True),
        sa.Column("allow_send_invoice", sa.Boolean(), nullable=True),
        sa.Column("agency_remit_rate", sa.Numeric(), nullable=True),
        sa.Column("countries", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("domains", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("ip_addresses", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("entitlements", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("site_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("product", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "invoice_upcoming_notification", postgresql.JSONB(astext_type=sa.Text()), nullable=True
        ),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "_raw",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the record exactly as the API sent it",
        ),
        sa.Column("_synced_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("_deleted_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("site_id", "id", name="plans_pkey"),
        schema=schema,
    )
    op.create_index("ix_plans_product_id", "plans", ["product_id"], unique=False, schema=schema)
    op.create_table(
        "products",
        sa.Column(
            "site_id", sa.BigInteger(), nullable=False, comment="site the record was read through"
        ),
        sa.Column("id", sa.BigInteger(), nullable=False, comment="Pelcro's id"),
        sa.Column("object_id", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("name_internal", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("type", sa.Text(), nullable=True),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("statement_descriptor", sa.Text(), nullable=True),
        sa.Column("unit_label", sa.Text(), nullable=True),
        sa.Column("image", sa.Text(), nullable=True),
        sa.Column("old_provider_id", sa.Text(), nullable=True),
        sa.Column("import_unique_id", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.Column("address_required", sa.Boolean(), nullable=True),
        sa.Column("shippable", sa.Boolean(), nullable=True),
        sa.Column("is_hidden", sa.Boolean(), nullable=True),
        sa.Column("is_imported", sa.Boolean(), nullable=True),
        sa.Column("livemode", sa.Boolean(), nullable=True),
        sa.Column("revenue_recognition_strategy", sa.BigInteger(), nullable=True),
        sa.Column("package_dimensions", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("countries", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("entitlements", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("plans", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("site_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "_raw",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the record exactly as the API sent it",
        ),
        sa.Column("_synced_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("_deleted_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("site_id", "id", name="products_pkey"),
        schema=schema,
    )
    op.create_table(
        "refunds",
        sa.Column(
            "site_id", sa.BigInteger(), nullable=False, comment="site the record was read through"
        ),
        sa.Column("id", sa.BigInteger(), nullable=False, comment="Pelcro's id"),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("charge_id", sa.BigInteger(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("destination", sa.Text(), nullable=True),
        sa.Column("charge", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "_raw",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the record exactly as the API sent it",
        ),
        sa.Column("_synced_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("_deleted_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("site_id", "id", name="refunds_pkey"),
        schema=schema,
    )
    op.create_index("ix_refunds_charge_id", "refunds", ["charge_id"], unique=False, schema=schema)
    op.create_index("ix_refunds_status", "refunds", ["status"], unique=False, schema=schema)
    op.create_index("ix_refunds_user_id", "refunds", ["user_id"], unique=False, schema=schema)
    op.create_table(
        "skus",
        sa.Column(
            "site_id", sa.BigInteger(), nullable=False, comment="site the record was read through"
        ),
        sa.Column("id", sa.BigInteger(), nullable=False, comment="Pelcro's id"),
        sa.Column("product_id", sa.BigInteger(), nullable=True),
        sa.Column("price", sa.BigInteger(), nullable=True),
        sa.Column("inventory_type", sa.BigInteger(), nullable=True),
        sa.Column("inventory_quantity", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("image", sa.Text(), nullable=True),
        sa.Column("inventory_description", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.Column("weight", sa.Numeric(), nullable=True),
        sa.Column("countries", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("entitlements", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("expires_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "_raw",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the record exactly as the API sent it",
        ),
        sa.Column("_synced_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("_deleted_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("site_id", "id", name="skus_pkey"),
        schema=schema,
    )
    op.create_index("ix_skus_product_id", "skus", ["product_id"], unique=False, schema=schema)
    op.create_table(
        "sources",
        sa.Column(
            "site_id", sa.BigInteger(), nullable=False, comment="site the record was read through"
        ),
        sa.Column("id", sa.BigInteger(), nullable=False, comment="Pelcro's id"),
        sa.Column("object_id", sa.Text(), nullable=True),
        sa.Column("object_gateway", sa.Text(), nullable=True),
        sa.Column("brand", sa.Text(), nullable=True),
        sa.Column("last4", sa.Text(), nullable=True),
        sa.Column("funding", sa.Text(), nullable=True),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("fingerprint", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("address_line1_check", sa.Text(), nullable=True),
        sa.Column("address_zip_check", sa.Text(), nullable=True),
        sa.Column("cvc_check", sa.Text(), nullable=True),
        sa.Column("dynamic_last4", sa.Text(), nullable=True),
        sa.Column("tokenization_method", sa.Text(), nullable=True),
        sa.Column("three_d_secure", sa.Text(), nullable=True),
        sa.Column("exp_month", sa.BigInteger(), nullable=True),
        sa.Column("exp_year", sa.BigInteger(), nullable=True),
        sa.Column("site_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("customer", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "_raw",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the record exactly as the API sent it",
        ),
        sa.Column("_synced_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("_deleted_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("site_id", "id", name="sources_pkey"),
        schema=schema,
    )
    op.create_table(
        "subscriptions",
        sa.Column(
            "site_id", sa.BigInteger(), nullable=False, comment="site the record was read through"
        ),
        sa.Column("id", sa.BigInteger(), nullable=False, comment="Pelcro's id"),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("plan", sa.BigInteger(), nullable=True),
        sa.Column("address", sa.BigInteger(), nullable=True),
        sa.Column("coupon", sa.BigInteger(), nullable=True),
        sa.Column("default_source", sa.BigInteger(), nullable=True),
        sa.Column("latest_invoice", sa.BigInteger(), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=True),
        sa.Column("days_until_due", sa.BigInteger(), nullable=True),
        sa.Column("shipments_remaining", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("type", sa.Text(), nullable=True),
        sa.Column("billing", sa.Text(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("gift_code", sa.Text(), nullable=True),
        sa.Column("is_membership", sa.Boolean(), nullable=True),
        sa.Column("address_required", sa.Boolean(), nullable=True),
        sa.Column("auto_renew", sa.Boolean(), nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=True),
        sa.Column("is_gift_donor", sa.Boolean(), nullable=True),
        sa.Column("is_gift_recipient", sa.Boolean(), nullable=True),
        sa.Column("is_redeemed", sa.Boolean(), nullable=True),
        sa.Column(
            "latest_churn_prediction", postgresql.JSONB(astext_type=sa.Text()), nullable=True
        ),
        sa.Column("schedule", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("cancel_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("canceled_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("created", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("current_period_start", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("current_period_end", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("due_date", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("ended_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("expires_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("renews_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("trial_start", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("trial_end", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "_raw",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the record exactly as the API sent it",
        ),
        sa.Column("_synced_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("_deleted_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("site_id", "id", name="subscriptions_pkey"),
        schema=schema,
    )
    op.create_index(
        "ix_subscriptions_created", "subscriptions", ["created"], unique=False, schema=schema
    )
    op.create_index("ix_subscriptions_plan", "subscriptions", ["plan"], unique=False, schema=schema)
    op.create_index(
        "ix_subscriptions_status", "subscriptions", ["status"], unique=False, schema=schema
    )
    op.create_index(
        "ix_subscriptions_user_id", "subscriptions", ["user_id"], unique=False, schema=schema
    )
    op.create_table(
        "vendors",
        sa.Column(
            "site_id", sa.BigInteger(), nullable=False, comment="site the record was read through"
        ),
        sa.Column("id", sa.BigInteger(), nullable=False, comment="Pelcro's id"),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("username", sa.Text(), nullable=True),
        sa.Column("salutation", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("billing_email", sa.Text(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("last_login_method", sa.Text(), nullable=True),
        sa.Column("object_id", sa.Text(), nullable=True),
        sa.Column("phone_confirm", sa.Boolean(), nullable=True),
        sa.Column("email_confirm", sa.Boolean(), nullable=True),
        sa.Column("email_hardbounce", sa.Boolean(), nullable=True),
        sa.Column("delinquent", sa.Boolean(), nullable=True),
        sa.Column("has_password", sa.Boolean(), nullable=True),
        sa.Column("mail_marketing", sa.Boolean(), nullable=True),
        sa.Column("tele_marketing", sa.Boolean(), nullable=True),
        sa.Column("balance", sa.BigInteger(), nullable=True),
        sa.Column("default_source_id", sa.BigInteger(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("dates", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("organization", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("password_last_updated_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("created", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "_raw",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the record exactly as the API sent it",
        ),
        sa.Column("_synced_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("_deleted_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("site_id", "id", name="vendors_pkey"),
        schema=schema,
    )
    op.create_index("ix_vendors_email", "vendors", ["email"], unique=False, schema=schema)


def downgrade() -> None:
    schema = _schema()
    op.drop_index("ix_vendors_email", table_name="vendors", schema=schema)
    op.drop_table("vendors", schema=schema)
    op.drop_index("ix_subscriptions_user_id", table_name="subscriptions", schema=schema)
    op.drop_index("ix_subscriptions_status", table_name="subscriptions", schema=schema)
    op.drop_index("ix_subscriptions_plan", table_name="subscriptions", schema=schema)
    op.drop_index("ix_subscriptions_created", table_name="subscriptions", schema=schema)
    op.drop_table("subscriptions", schema=schema)
    op.drop_table("sources", schema=schema)
    op.drop_index("ix_skus_product_id", table_name="skus", schema=schema)
    op.drop_table("skus", schema=schema)
    op.drop_index("ix_refunds_user_id", table_name="refunds", schema=schema)
    op.drop_index("ix_refunds_status", table_name="refunds", schema=schema)
    op.drop_index("ix_refunds_charge_id", table_name="refunds", schema=schema)
    op.drop_table("refunds", schema=schema)
    op.drop_table("products", schema=schema)
    op.drop_index("ix_plans_product_id", table_name="plans", schema=schema)
    op.drop_table("plans", schema=schema)
    op.drop_table("organizations", schema=schema)
    op.drop_index("ix_orders_user_id", table_name="orders", schema=schema)
    op.drop_index("ix_orders_status", table_name="orders", schema=schema)
    op.drop_index("ix_orders_created_at", table_name="orders", schema=schema)
    op.drop_table("orders", schema=schema)
    op.drop_index("ix_newsletters_email", table_name="newsletters", schema=schema)
    op.drop_table("newsletters", schema=schema)
    op.drop_index("ix_memberships_user_id", table_name="memberships", schema=schema)
    op.drop_index("ix_memberships_subscription_id", table_name="memberships", schema=schema)
    op.drop_index("ix_memberships_status", table_name="memberships", schema=schema)
    op.drop_table("memberships", schema=schema)
    op.drop_index("ix_invoices_subscription_id", table_name="invoices", schema=schema)
    op.drop_index("ix_invoices_status", table_name="invoices", schema=schema)
    op.drop_index("ix_invoices_customer", table_name="invoices", schema=schema)
    op.drop_index("ix_invoices_created_at", table_name="invoices", schema=schema)
    op.drop_table("invoices", schema=schema)
    op.drop_table("ecommerce_products", schema=schema)
    op.drop_index("ix_customers_organization", table_name="customers", schema=schema)
    op.drop_index("ix_customers_email", table_name="customers", schema=schema)
    op.drop_index("ix_customers_created_at", table_name="customers", schema=schema)
    op.drop_table("customers", schema=schema)
    op.drop_index("ix_coupons_code", table_name="coupons", schema=schema)
    op.drop_table("coupons", schema=schema)
    op.drop_index("ix_charges_status", table_name="charges", schema=schema)
    op.drop_index("ix_charges_invoice_id", table_name="charges", schema=schema)
    op.drop_index("ix_charges_created_at", table_name="charges", schema=schema)
    op.drop_table("charges", schema=schema)
    op.drop_index("ix_bills_user_id", table_name="bills", schema=schema)
    op.drop_index("ix_bills_updated_at", table_name="bills", schema=schema)
    op.drop_index("ix_bills_status", table_name="bills", schema=schema)
    op.drop_table("bills", schema=schema)
    op.drop_index("ix_addresses_user_id", table_name="addresses", schema=schema)
    op.drop_index("ix_addresses_created_at", table_name="addresses", schema=schema)
    op.drop_table("addresses", schema=schema)
    op.drop_table("_sync_state", schema=schema)
    op.drop_index("ix__sync_runs_status", table_name="_sync_runs", schema=schema)
    op.drop_index("ix__sync_runs_site_id_entity_started_at", table_name="_sync_runs", schema=schema)
    op.drop_table("_sync_runs", schema=schema)
