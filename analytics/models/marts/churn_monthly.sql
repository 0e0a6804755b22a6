{{ config(unlogged=var('marts_unlogged')) }}
-- Customer churn per site and month. A customer is counted at the month's start when their
-- MRR (any currency) was above 0 at the end of the month before, and churned when it is 0 at
-- the end of this one. Why, from the subscriptions that stopped contributing:
--   involuntary: one of them was in a dunning status (var dunning_statuses: past_due,
--                unpaid) at the month's start or during it, per the status history;
--   voluntary:   otherwise, one was canceled by the customer (canceled_at set or
--                cancel_at_period_end);
--   other:       neither (e.g. a fixed term that ran out, a deleted subscription).
{%- set dunning = var('dunning_statuses') %}

with runs as (
    select * from {{ ref('int_pelcro__mrr_periods') }}
),

levels as (
    -- a customer's MRR in all currencies, on the months in which it changes
    select *
    from {{ mrr_levels(ref('int_pelcro__mrr_periods'), ['site_id', 'customer_id']) }} as levels
),

churned_customers as (
    select site_id, customer_id, month
    from levels
    where previous_mrr > 0 and mrr = 0
),

stopped as (
    -- subscriptions contributing at the end of a month and not at the end of the next one
    select site_id, customer_id, subscription_id, (last_month + interval '1 month')::date as month
    from (
        select *, lead(first_month) over (partition by site_id, subscription_id
                                          order by first_month) as next_first_month
        from runs
    ) as r
    where next_first_month is distinct from (last_month + interval '1 month')::date
        and last_month < {{ current_month() }}
),

versions as (
    select * from {{ ref('stg_pelcro__subscription_versions') }}
),

during as (
    -- the versions current at some point of the stop month, the one at its start included
    select
        s.site_id, s.customer_id, s.subscription_id, s.month,
        bool_or(v.status in {{ sql_list(dunning) }}) as dunning,
        bool_or(v.canceled_at is not null or v.cancel_at_period_end) as canceled
    from stopped as s
    inner join versions as v
        on v.site_id = s.site_id
        and v.subscription_id = s.subscription_id
        and v.valid_from < {{ month_boundary('s.month') }}
        and coalesce(v.valid_to, 'infinity'::timestamptz) >= {{ month_start_instant('s.month') }}
    group by 1, 2, 3, 4
),

reasons as (
    -- with no version in the month, it ended before capture: the first version seen says why
    select
        s.site_id, s.customer_id, s.subscription_id, s.month,
        coalesce(d.dunning, f.status in {{ sql_list(dunning) }}) as dunning,
        coalesce(d.canceled, f.canceled_at is not null or f.cancel_at_period_end) as canceled
    from stopped as s
    left join during as d
        on d.site_id = s.site_id and d.subscription_id = s.subscription_id and d.month = s.month
    left join versions as f
        on f.site_id = s.site_id and f.subscription_id = s.subscription_id
        and f.version_number = 1
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
    from (select site_id, min(month) as first_month from levels where mrr > 0 group by 1) as s
    cross join lateral generate_series(
        s.first_month::timestamp, {{ current_month() }}::timestamp, interval '1 month'
    ) as m (month)
),

start_steps as (
    -- customers_start counts the customers with MRR at the end of the month before: a level
    -- above 0 counts from the month after its change to the month after the next change
    select site_id, month, sum(step) as step
    from (
        select site_id, (month + interval '1 month')::date as month, 1 as step
        from levels where mrr > 0
        union all
        select site_id, (next_change + interval '1 month')::date, -1
        from levels where mrr > 0 and next_change is not null
    ) as counted
    group by 1, 2
),

starts as (
    select
        sm.site_id, sm.month,
        (sum(coalesce(st.step, 0)) over (partition by sm.site_id order by sm.month))::bigint
            as customers_start
    from site_months as sm
    left join start_steps as st using (site_id, month)
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
