-- Per customer, currency and month: MRR, the month before, and how it moved. Months at 0
-- between a churn and a reactivation are filled in; a customer's rows run from their first
-- month with MRR to the current month, except months at 0 that follow a month at 0.
with monthly as (
    select site_id, customer_id, currency, month, sum(mrr) as mrr
    from {{ ref('mrr_monthly') }}
    group by 1, 2, 3, 4
),

spans as (
    select site_id, customer_id, currency, min(month) as first_month
    from monthly
    group by 1, 2, 3
),

grid as (
    select s.site_id, s.customer_id, s.currency, m.month::date as month
    from spans as s
    cross join lateral generate_series(
        s.first_month::timestamp, {{ current_month() }}::timestamp, interval '1 month'
    ) as m (month)
),

filled as (
    select g.site_id, g.customer_id, g.currency, g.month, coalesce(monthly.mrr, 0) as mrr
    from grid as g
    left join monthly using (site_id, customer_id, currency, month)
),

lagged as (
    select
        *,
        coalesce(lag(mrr) over w, 0) as previous_mrr,
        coalesce(bool_or(mrr > 0) over (w rows between unbounded preceding and 1 preceding),
                 false) as had_mrr_before
    from filled
    window w as (partition by site_id, customer_id, currency order by month)
)

select
    site_id,
    customer_id,
    currency,
    month,
    mrr,
    previous_mrr,
    mrr - previous_mrr as mrr_change,
    case
        when mrr > 0 and not had_mrr_before then 'new'
        when mrr > 0 and previous_mrr = 0 then 'reactivation'
        when mrr = 0 and previous_mrr > 0 then 'churned'
        when mrr > previous_mrr then 'expansion'
        when mrr < previous_mrr then 'contraction'
        else 'unchanged'
    end as movement
from lagged
where mrr > 0 or previous_mrr > 0
