select
    site_id,
    id as subscription_id,
    user_id as customer_id,
    plan as plan_id,
    coalesce(quantity, 1) as quantity,
    lower(status) as status,
    created as created_at,
    canceled_at,
    ended_at,
    _deleted_at is not null as is_deleted
from {{ source('pelcro', 'subscriptions') }}
