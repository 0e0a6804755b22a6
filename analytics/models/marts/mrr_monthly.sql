{{ config(unlogged=var('marts_unlogged')) }}
-- One row per subscription and month in which it contributes MRR: the state valid at the
-- month's last instant (for the current month, the current state), priced at the plan
-- version valid at that same instant. int_pelcro__mrr_periods holds these as runs of months
-- at one state and price; here each run is expanded to its months.
select
    r.site_id,
    r.subscription_id,
    r.customer_id,
    r.plan_id,
    m.month::date as month,
    r.currency,
    r.status,
    r.quantity,
    r.plan_amount,
    r.plan_interval,
    r.plan_interval_count,
    r.mrr,
    r.reconstructed
from {{ ref('int_pelcro__mrr_periods') }} as r
cross join lateral generate_series(
    r.first_month::timestamp, r.last_month::timestamp, interval '1 month'
) as m (month)
