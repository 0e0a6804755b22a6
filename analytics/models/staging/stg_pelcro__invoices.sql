select
    site_id,
    id as invoice_id,
    customer as customer_id,
    subscription_id,
    lower(status) as status,
    lower(currency) as currency,
    total,
    amount_paid,
    amount_remaining,
    coalesce(created, created_at) as created_at,
    _deleted_at is not null as is_deleted
from {{ source('pelcro', 'invoices') }}
