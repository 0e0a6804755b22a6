select
    site_id,
    id as refund_id,
    charge_id,
    user_id as customer_id,
    amount,
    lower(status) as status,
    created_at,
    _deleted_at is not null as is_deleted
from {{ source('pelcro', 'refunds') }}
