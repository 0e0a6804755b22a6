{{ config(unlogged=var('marts_unlogged')) }}
-- Money in and out per site, UTC day and currency, in minor units: successful charges by the
-- day they were created, successful refunds by theirs. Deleted charges and refunds are out.
with charged as (
    select site_id, (created_at at time zone 'UTC')::date as day, currency,
           sum(amount) as charged, count(*) as charges
    from {{ ref('int_pelcro__charges') }}
    where is_successful and not is_deleted and created_at is not null
    group by 1, 2, 3
),

refunded as (
    select site_id, (created_at at time zone 'UTC')::date as day, currency,
           sum(amount) as refunded, count(*) as refunds
    from {{ ref('int_pelcro__refunds') }}
    where is_successful and not is_deleted and created_at is not null
    group by 1, 2, 3
)

select
    site_id,
    day,
    currency,
    coalesce(charged.charged, 0) as charged,
    coalesce(refunded.refunded, 0) as refunded,
    coalesce(charged.charged, 0) - coalesce(refunded.refunded, 0) as net,
    coalesce(charged.charges, 0) as charges,
    coalesce(refunded.refunds, 0) as refunds
from charged
full outer join refunded using (site_id, day, currency)
