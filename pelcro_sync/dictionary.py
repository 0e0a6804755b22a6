"""The data dictionary: what every entity table, its history and each of their columns mean.

Declared once, as data, next to the registry; the warehouse writes it as `COMMENT`s
(`warehouse.comments`) and Dagster shows it in each asset's column schema. Drawn from
../shared/pelcro-api/entities.md (its README's section 0 overrides it), in our own words.
`problems()` lists what is missing or stale; a unit test keeps it empty.
"""

from pelcro_sync.entities import ENTITIES, SYSTEM_COLUMNS, Entity

SYSTEM: dict[str, str] = {
    "site_id": "Pelcro site the record was read through",
    "id": "Pelcro's id of the record",
    "_raw": "The record exactly as the API returned it, fields not declared here included",
    "_synced_at": "When the warehouse last changed this row",
    "_deleted_at": "When the record was found deleted in Pelcro (the row is kept); null while "
    "it exists",
    "_raw_hash": "pelcro-sync bookkeeping: a 64-bit hash of _raw, so that a scan can tell an "
    "unchanged record without rewriting it; null until the next scan reads the record",
}

# In `<entity>_history` these mean one version, not the record.
HISTORY: dict[str, str] = {
    "_valid_from": "When this version became current: when the warehouse observed the change",
    "_valid_to": "When the next version or the delete replaced this one; null for the current "
    "version",
    "_raw": "The record as the API returned it in this version",
}

TABLES: dict[str, str] = {
    "customers": "Customers: the readers and subscribers of the account",
    "addresses": "Shipping and billing addresses of customers",
    "subscriptions": "Subscriptions of customers to plans",
    "memberships": "Seats on membership (group) subscriptions, claimed or invited",
    "plans": "Plans: the price, currency and billing interval at which a product is sold",
    "products": "Subscription products, sold through their plans",
    "ecommerce_products": "Shop (e-commerce) products, sold through their SKUs",
    "skus": "Sellable variants of shop products, with price and stock",
    "orders": "Shop orders of SKUs by customers",
    "invoices": "Invoices to customers, for subscriptions or one-off amounts",
    "charges": "Payments: charges made online or recorded offline, mostly against invoices",
    "refunds": "Refunds of charges, whole or partial",
    "sources": "Payment methods (cards) saved for customers",
    "coupons": "Discount coupons",
    "newsletters": "Newsletter signups and the consent recorded with them",
    "organizations": "Organizations that group customers",
    "bills": "Accounts-payable bills from vendors (beta API)",
    "vendors": "Accounts-payable vendors (beta API)",
}

# Fields several entities share with one meaning; an entity's own entry below wins.
COMMON: dict[str, str] = {
    "created_at": "When the record was created in Pelcro",
    "updated_at": "When the record last changed in Pelcro",
    "deleted_at": "When Pelcro soft-deleted the record; null while it exists",
    "metadata": "Key-value pairs the publisher attached to the record",
    "old_provider_id": "Id of the record in the system it was migrated from; unique per account",
    "is_imported": "True when the record was created by an import",
    "currency": "Three-letter currency code, lowercase (e.g. usd)",
    "first_name": "First name",
    "last_name": "Last name",
    "salutation": "Salutation, e.g. Ms",
    "title": "Personal or job title",
    "phone": "Phone number",
    "postal_code": "Postal or ZIP code",
    "display_name": "Name shown publicly (up to 100 characters)",
    "username": "Login name (letters, digits, - and _); unique per account",
    "email_confirm": "True once the email address was verified",
    "email_hardbounce": "True when mail to the address bounced for good",
    "phone_confirm": "True once the phone number was verified",
    "mail_marketing": "Consents to marketing by mail",
    "tele_marketing": "Consents to marketing by telephone",
    "has_password": "True when a password is set",
    "password_last_updated_at": "When the password last changed",
    "default_source_id": "Id of the default payment method (see sources)",
    "name_internal": "Internal name, not shown to customers",
    "is_hidden": "True when hidden from the storefront",
    "statement_descriptor": "Text on the customer's card statement (up to 22 characters)",
    "shippable": "True for a physical product that is shipped",
    "image": "Image URL",
    "countries": "Countries it is offered in (two-letter codes)",
    "entitlements": "Access entitlements it grants",
    "site_ids": "Ids of the sites that share the record",
    "amount_due": "Amount to be paid, in minor units (cents)",
    "amount_paid": "Amount paid so far, in minor units",
    "amount_remaining": "Amount still to pay, in minor units",
    "subtotal": "Total before tax and discounts, in minor units",
    "total": "Total, in minor units",
    "period_start": "Start of the period it covers",
    "period_end": "End of the period it covers",
    "finalized_at": "When it left draft",
}

FIELDS: dict[str, dict[str, str]] = {
    "customers": {
        "email": "Email address; unique per account",
        "name": "Full name",
        "tin": "Tax identification number",
        "organization": "Id of the organization the customer belongs to (see organizations)",
        "default_source": "The default payment method, when the API embeds it",
        "addresses": "The customer's addresses, when the API embeds them",
        "subscriptions": "The customer's subscriptions, when the API embeds them",
        "last_login_at": "When the customer last logged in",
    },
    "addresses": {
        "user_id": "Id of the customer the address belongs to (see customers)",
        "type": "shipping or billing",
        "line1": "Street address, first line",
        "line2": "Street address, second line (apartment, suite)",
        "city": "City",
        "state": "State or province code, e.g. QC",
        "country": "Country, two-letter code",
        "company": "Company name",
        "department": "Department within the company",
        "is_default": "True for the customer's default address of this type",
    },
    "subscriptions": {
        "user_id": "Id of the subscribing customer (see customers)",
        "plan": "Id of the plan subscribed to (see plans)",
        "address": "Id of the shipping address (see addresses)",
        "coupon": "Id of the coupon applied (see coupons)",
        "default_source": "Id of the payment method charged (see sources)",
        "latest_invoice": "Id of the latest invoice (see invoices)",
        "quantity": "Units subscribed (seats, copies); multiplies the plan's amount",
        "days_until_due": "Days an invoice may stay unpaid, when billing is send_invoice",
        "shipments_remaining": "Print deliveries left",
        "status": "active, trialing, past_due, canceled, unpaid, incomplete, "
        "incomplete_expired, expired or extended; other values are kept as sent",
        "type": "regular, membership, gift_donor, gift_recipient or donation",
        "billing": "How it is paid: charge_automatically or send_invoice",
        "cancel_reason": "Reason given for the cancellation",
        "gift_code": "Code that redeems a gift subscription",
        "is_membership": "True for a membership (group) subscription",
        "address_required": "True when the product needs a shipping address",
        "auto_renew": "True when it renews at the end of each period",
        "cancel_at_period_end": "True when it is set to end with the current period",
        "is_gift_donor": "True when bought as a gift for someone else",
        "is_gift_recipient": "True when received as a gift",
        "is_redeemed": "True once the gift was redeemed",
        "latest_churn_prediction": "Pelcro's latest churn prediction for it",
        "schedule": "Phases scheduled for later, such as a plan change",
        "cancel_at": "When it is set to be canceled",
        "canceled_at": "When it was canceled",
        "created": "When it was created",
        "current_period_start": "Start of the billing period in progress",
        "current_period_end": "End of the billing period in progress",
        "due_date": "When payment is due, when billing is send_invoice",
        "ended_at": "When it ended",
        "expires_at": "When access ends",
        "renews_at": "When it renews next",
        "trial_start": "Start of the free trial",
        "trial_end": "End of the free trial",
    },
    "memberships": {
        "subscription_id": "Id of the membership subscription that holds the seat "
        "(see subscriptions)",
        "user_id": "Id of the member customer; null while the invitation is pending",
        "address_id": "Id of the member's address (see addresses)",
        "invitation_email": "Email address the invitation went to",
        "status": "pending (invitation not yet claimed) or active",
        "subscription": "The membership subscription, when the API embeds it",
    },
    "plans": {
        "product_id": "Id of the product the plan sells (see products)",
        "parent_plan_id": "Id of the plan this one derives from",
        "amount": "Price per billing cycle, in minor units of currency (cents)",
        "interval_count": "Intervals per billing cycle (3 with month: quarterly)",
        "trial_period_days": "Length of the free trial, in days",
        "shipments_per_interval": "Print deliveries per interval",
        "member_seat_capacity": "Most members a membership subscription may hold",
        "agency_id": "Id of the subscription agency that sells it",
        "group_owner_plan_id": "Id of the group owner's plan, for membership plans",
        "auto_uncollectible_days": "Days before an unpaid invoice is marked uncollectible",
        "object_id": "Id of the plan at the payment gateway (e.g. plan_...)",
        "nickname": "Name shown to customers",
        "description": "Description shown to customers",
        "type": "regular or membership",
        "active": "active or archived; older API versions send true/false, kept as that text",
        "status": "Deprecated alias of active",
        "interval": "Billing interval: day, week, month or year",
        "renewal_strategy": "regular, digital, agency or single_shipment",
        "recognized_revenue_type": "How its revenue is recognized, e.g. shipments",
        "apple_product_id": "Matching Apple in-app purchase product",
        "gift_description": "Text shown when the plan is given as a gift",
        "auto_renew": "True when subscriptions to it renew automatically",
        "available_online": "True when customers can buy it themselves",
        "is_donation": "True for a donation plan",
        "refundable": "True when its payments can be refunded",
        "allow_send_invoice": "True when subscriptions to it may be paid by invoice",
        "agency_remit_rate": "Share of the price remitted to the agency",
        "domains": "Email domains whose owners join the membership",
        "ip_addresses": "IP ranges (CIDR) given access through the membership",
        "product": "The product, when the API embeds it",
        "invoice_upcoming_notification": "Settings of the upcoming-invoice notice",
    },
    "products": {
        "object_id": "Id of the product at the payment gateway (e.g. prod_...)",
        "name": "Name shown to customers",
        "description": "Description shown to customers",
        "type": "Product type, e.g. service",
        "language": "Locale, e.g. en_US or fr_CA",
        "unit_label": "Name of one unit, e.g. seat",
        "import_unique_id": "Id given by the import that created it",
        "active": "True while it is on sale",
        "address_required": "True when subscribers must give a shipping address",
        "livemode": "False for a test-mode product",
        "revenue_recognition_strategy": "How its revenue is recognized, as a code",
        "package_dimensions": "Package size and weight, for shipping",
        "plans": "Its plans (see plans)",
    },
    "ecommerce_products": {
        "name": "Name shown to customers",
        "caption": "Short caption",
        "description": "Description shown to customers",
        "sites": "Ids of the sites that sell it",
    },
    "skus": {
        "product_id": "Id of the shop product this is a variant of (see ecommerce_products)",
        "price": "Price, in minor units of currency (cents)",
        "inventory_type": "Stock kind: 0 unlimited, 1 counted",
        "inventory_quantity": "Units in stock, when counted",
        "name": "Name of the variant, e.g. T-shirt L",
        "inventory_description": "Stock note shown to customers",
        "active": "True while it is on sale",
        "weight": "Weight, for shipping",
        "expires_at": "When it stops being sold",
    },
    "orders": {
        "user_id": "Id of the ordering customer (see customers)",
        "address_id": "Id of the shipping address (see addresses)",
        "amount": "Total, in minor units of currency (cents)",
        "status": "paid, canceled, fulfilled or returned (created in some docs)",
        "items": "Ordered items: SKU, quantity and amount",
    },
    "invoices": {
        "subscription_id": "Id of the subscription it bills (see subscriptions)",
        "customer": "Id of the billed customer (see customers)",
        "ending_balance": "Customer's balance after it, in minor units",
        "tax": "Tax, in minor units",
        "number": "Invoice number shown to the customer",
        "status": "draft, open, paid, void or uncollectible",
        "billing": "How it is collected: charge_automatically or send_invoice",
        "billing_reason": "Why it was made: manual, subscription_create, subscription_cycle, "
        "subscription_update or order_create",
        "description": "Memo shown on the invoice",
        "hosted_invoice_url": "Web page where the customer can view and pay it",
        "invoice_pdf": "Link to its PDF",
        "auto_advance": "True when Pelcro collects it automatically",
        "paid": "True once paid",
        "due_date": "When payment is due",
        "created": "When it was created (the API's created field)",
    },
    "charges": {
        "invoice_id": "Id of the invoice it pays (see invoices)",
        "amount": "Amount charged, in minor units of currency (cents)",
        "amount_refunded": "Amount refunded so far, in minor units",
        "offline_entered_by": "Id of the staff user who recorded an offline payment",
        "currency": "Three-letter currency code, lowercase; the documented list record "
        "omits it, so it is often null",
        "status": "succeeded, failed or pending",
        "description": "What it paid for, e.g. Subscription creation",
        "reference": "Reference of an offline payment, e.g. a cheque number",
        "payment_category": "Kind of offline payment: check, wire, transfer, external or cash",
        "paid": "True when the payment went through",
        "refunded": "True when fully refunded",
        "offline": "True for a payment recorded by hand (cheque, wire, cash)",
    },
    "refunds": {
        "user_id": "Id of the refunded customer, through the charge; null when it has none",
        "charge_id": "Id of the refunded charge (see charges)",
        "amount": "Amount refunded, in minor units of currency (cents)",
        "status": "Refund status, e.g. to_issue (an offline refund awaiting approval)",
        "reason": "Why it was refunded, e.g. Credit card chargeback",
        "destination": "Where the money went: card, customer balance or offline",
        "charge": "The refunded charge, when the API embeds it",
    },
    "sources": {
        "object_id": "Id of the payment method at the gateway (pm_..., card_..., src_...)",
        "object_gateway": "Payment gateway: stripe, braintree, vantiv, tap or cybersource",
        "brand": "Card brand, e.g. Visa",
        "last4": "Last four digits of the card number",
        "funding": "credit or debit",
        "country": "Country of the card, two-letter code",
        "fingerprint": "Gateway fingerprint, the same for the same card",
        "name": "Cardholder name",
        "address_line1_check": "Result of the street address check, e.g. pass",
        "address_zip_check": "Result of the postal code check, e.g. pass",
        "cvc_check": "Result of the security code check, e.g. pass",
        "dynamic_last4": "Last four digits of a wallet's device card number",
        "tokenization_method": "Wallet that tokenized the card, e.g. apple_pay",
        "three_d_secure": "3-D Secure support, e.g. optional",
        "exp_month": "Expiry month (1-12)",
        "exp_year": "Expiry year (four digits)",
        "customer": "The owning customer's id, name and email, when sent",
    },
    "coupons": {
        "name": "Name",
        "code": "Code customers enter; unique per site",
        "currency": "Currency of amount_off, three-letter lowercase code",
        "duration": "How long the discount lasts: forever or once",
        "percent_off": "Discount in percent (0 to 100); null when amount_off is set",
        "amount_off": "Discount in minor units of currency; null when percent_off is set",
        "max_redemptions": "Most times it can be redeemed",
        "plans": "Ids of the plans it is limited to",
        "redeem_by": "Last moment it can be redeemed",
    },
    "newsletters": {
        "email": "Subscriber's email address; unique per site",
        "source": "Where the signup came from: web, phone, mail or other",
        "lists": "Lists signed up to, as free text",
        "consent_url": "Page where consent was given",
        "consent_ip": "IP address consent was given from",
        "consent_text": "Wording the subscriber agreed to",
        "consent_type": "Kind of consent recorded",
    },
    "organizations": {
        "name": "Name",
        "customers_count": "Number of customers in it",
        "customers": "Its customers, when the API embeds them",
    },
    "bills": {
        "account_id": "Id of the Pelcro account",
        "user_id": "Id of the vendor who issued it (see vendors)",
        "number": "Bill number",
        "status": "draft, open (finalized) or paid",
        "description": "Description",
        "footer": "Footer text printed on the bill",
        "purchase_order": "Purchase order number",
        "hosted_bill_url": "Web page of the bill",
        "bill_pdf": "Link to its PDF",
        "status_label": "Status as displayed, e.g. Draft",
        "status_value": "Status as a code, e.g. draft",
        "paid": "True once paid (legacy; see status)",
        "line_items": "Billed lines: description, quantity, unit price and amount",
        "vendor": "The vendor, when sent",
        "billing_address": "Billing address, when sent",
        "address_billing": "Billing address, under the other name the API uses",
        "created": "When it was created",
        "paid_at": "When it was paid",
        "voided_at": "When it was voided",
    },
    "vendors": {
        "email": "Email address; unique among the site's vendors",
        "billing_email": "Address bills are sent to",
        "language": "Preferred language",
        "last_login_method": "How the vendor last logged in, e.g. email",
        "object_id": "Public id of the vendor",
        "delinquent": "True when a payment is overdue",
        "balance": "Account balance, in minor units",
        "dates": "created_at and updated_at, as unix seconds",
        "organization": "Organization, when sent",
        "created": "When it was created",
    },
}


def describe(entity: Entity, column: str) -> str:
    """The description of one column of `entity`'s table (system columns included)."""
    text = FIELDS.get(entity.name, {}).get(column) or COMMON.get(column) or SYSTEM.get(column)
    if text is None:
        raise KeyError(f"{entity.name}.{column} has no description in pelcro_sync.dictionary")
    return text


def columns(entity: Entity) -> dict[str, str]:
    """Every column of `entity`'s table, in table order, with its description."""
    names = (*SYSTEM_COLUMNS[:2], *entity.field_names, *SYSTEM_COLUMNS[2:])
    return {name: describe(entity, name) for name in names}


def history_columns(entity: Entity) -> dict[str, str]:
    """The columns `<entity>_history` may have, with their descriptions."""
    return {**columns(entity), **HISTORY}


def table(entity: Entity) -> str:
    return f"{TABLES[entity.name]}. Read from GET {entity.path}; one row per (site_id, id)"


def history_table(entity: Entity) -> str:
    return (
        f"Every version of {entity.name}: a row per change the warehouse observed, "
        "append-only; the version whose _valid_to is null is the current one"
    )


def problems(
    *,
    entities: tuple[Entity, ...] = ENTITIES,
    fields: dict[str, dict[str, str]] = FIELDS,
    common: dict[str, str] = COMMON,
    tables: dict[str, str] = TABLES,
) -> list[str]:
    """What is missing or stale: an entity or field with no description (or an empty one), a
    description of no entity or no field, a shared description no entity uses."""
    names = {e.name for e in entities}
    found = [f"{n}: no table description" for n in sorted(names - tables.keys())]
    found += [f"{n}: table described, not an entity" for n in sorted(tables.keys() - names)]
    found += [f"{n}: fields described, not an entity" for n in sorted(fields.keys() - names)]
    used: set[str] = set()
    for entity in entities:
        own = fields.get(entity.name, {})
        found += [
            f"{entity.name}.{f}: described, not a field" for f in own if f not in entity.field_names
        ]
        bare = [f for f in entity.field_names if f not in own]
        found += [f"{entity.name}.{f}: no description" for f in bare if f not in common]
        used.update(bare)
    found += [f"COMMON {f}: no entity uses it" for f in common if f not in used]
    texts = [*tables.items(), *common.items()]
    texts += [(f"{e}.{f}", text) for e, own in fields.items() for f, text in own.items()]
    found += [f"{where}: empty description" for where, text in texts if not text.strip()]
    return found
