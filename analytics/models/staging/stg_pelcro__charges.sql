-- The list record documents no currency (API docs section 0); `currency` here is whatever
-- the API sent anyway, and int_pelcro__charges prefers the invoice's.
select
    site_id,
    id as charge_id,
    invoice_id,
    amount,
    amount_refunded,
    lower(currency) as charge_currency,
    lower(status) as status,
    paid,
    created_at,
    (_deleted_at is not null or deleted_at is not null) as is_deleted
from {{ source('pelcro', 'charges') }}
