-- Refunds in the currency of the charge they return (through its invoice).
select
    r.site_id,
    r.refund_id,
    r.charge_id,
    coalesce(r.customer_id, c.customer_id) as customer_id,
    coalesce(c.currency, 'xxx') as currency,
    r.amount,
    r.status,
    r.created_at,
    r.is_deleted,
    -- A refund with no status is taken as done; to_issue/pending/canceled/failed are not.
    coalesce(r.status, 'succeeded') = 'succeeded' as is_successful
from {{ ref('stg_pelcro__refunds') }} as r
left join {{ ref('int_pelcro__charges') }} as c
    on c.site_id = r.site_id and c.charge_id = r.charge_id
