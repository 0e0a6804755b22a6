-- Customer churn per site and month. A customer is counted at the month's start when their
-- MRR (any currency) was above 0 at the end of the month before, and churned when it is 0 at
-- the end of this one. Why, from the subscriptions that stopped contributing:
--   involuntary: one of them was in a dunning status (var dunning_statuses: past_due,
--                unpaid) at the month's start or during it, per the status history;
--   voluntary:   otherwise, one was canceled by the customer (canceled_at set or
--                cancel_at_period_end);
--   other:       neither (e.g. a fixed term that ran out, a deleted subscription).
{%- set dunning = var('dunning_statuses') %}

with customer_months as (
    select site_id, customer_id, month, sum(mrr) as mrr, sum(previous_mrr) as previous_mrr
    from {{ ref('mrr_movements') }}
    group by 1, 2, 3
),

churned_customers as (
    select site_id, customer_id, month
    from customer_months
    where previous_mrr > 0 and mrr = 0
),

stopped as (
    -- subscriptions contributing at the end of the month before and not at the end of this one
    select prev.site_id, prev.customer_id, prev.subscription_id,
           (prev.month + interval '1 month')::date as month
    from {{ ref('mrr_monthly') }} as prev
    left join {{ ref('mrr_monthly') }} as cur
        on cur.site_id = prev.site_id
        and cur.subscription_id = prev.subscription_id
        and cur.month = (prev.month + interval '1 month')::date
    where cur.subscription_id is null and prev.month < {{ current_month() }}
),

versions as (
    select * from {{ ref('stg_pelcro__subscription_versions') }}
),

reasons as (
    -- the versions current at some point of the month (the one at its start included); with
    -- none (ended before capture, or deleted), the first version seen after the month
    select
        s.site_id, s.customer_id, s.subscription_id, s.month,
        coalesce(
            bool_or(v.status in {{ sql_list(dunning) }})
                filter (where v.valid_from < {{ month_boundary('s.month') }}),
            bool_or(v.status in {{ sql_list(dunning) }})
        ) as dunning,
        coalesce(
            bool_or(v.canceled_at is not null or v.cancel_at_period_end)
                filter (where v.valid_from < {{ month_boundary('s.month') }}),
            bool_or(v.canceled_at is not null or v.cancel_at_period_end)
        ) as canceled
    from stopped as s
    left join versions as v
        on v.site_id = s.site_id
        and v.subscription_id = s.subscription_id
        and coalesce(v.valid_to, 'infinity'::timestamptz) > {{ month_start_instant('s.month') }}
        and (
            v.valid_from < {{ month_boundary('s.month') }}
            or v.version_number = (
                select min(n.version_number) from versions as n
                where n.site_id = s.site_id and n.subscription_id = s.subscription_id
                    and n.valid_from >= {{ month_boundary('s.month') }}
            )
        )
    group by 1, 2, 3, 4
),

churn_reasons as (
    select
        c.site_id, c.customer_id, c.month,
        case
            when coalesce(bool_or(r.dunning), false) then 'involuntary'
            when coalesce(bool_or(r.canceled), false) then 'voluntary'
            else 'other'
        end as reason
    from churned_customers as c
    left join reasons as r
        on r.site_id = c.site_id and r.customer_id = c.customer_id and r.month = c.month
    group by 1, 2, 3
),

site_months as (
    select s.site_id, m.month::date as month
    from (select site_id, min(month) as first_month from customer_months group by 1) as s
    cross join lateral generate_series(
        s.first_month::timestamp, {{ current_month() }}::timestamp, interval '1 month'
    ) as m (month)
),

starts as (
    select site_id, month, count(*) as customers_start
    from customer_months
    where previous_mrr > 0
    group by 1, 2
),

churn as (
    select
        site_id, month,
        count(*) as churned,
        count(*) filter (where reason = 'voluntary') as churned_voluntary,
        count(*) filter (where reason = 'involuntary') as churned_involuntary,
        count(*) filter (where reason = 'other') as churned_other
    from churn_reasons
    group by 1, 2
)

select
    sm.site_id,
    sm.month,
    coalesce(starts.customers_start, 0) as customers_start,
    coalesce(churn.churned, 0) as churned,
    coalesce(churn.churned_voluntary, 0) as churned_voluntary,
    coalesce(churn.churned_involuntary, 0) as churned_involuntary,
    coalesce(churn.churned_other, 0) as churned_other,
    coalesce(churn.churned, 0)::numeric / nullif(starts.customers_start, 0) as churn_rate
from site_months as sm
left join starts using (site_id, month)
left join churn using (site_id, month)
