-- One row per subscription and month in which it contributes MRR: the state valid at the
-- month's last instant (for the current month, the current state), priced at the plan
-- version valid at that same instant.
with periods as (
    select * from {{ ref('int_pelcro__mrr_periods') }}
),

months as (
    select
        p.*,
        m.month::date as month
    from periods as p
    cross join lateral generate_series(
        date_trunc('month', p.valid_from at time zone 'UTC'),
        least(
            date_trunc('month', coalesce(p.valid_to, 'infinity'::timestamptz) at time zone 'UTC'),
            {{ current_month() }}::timestamp
        ),
        interval '1 month'
    ) as m (month)
    where p.valid_from < {{ month_boundary('m.month') }}
        and coalesce(p.valid_to, 'infinity'::timestamptz) >= {{ month_boundary('m.month') }}
),

priced as (
    select
        months.site_id,
        months.subscription_id,
        months.customer_id,
        months.plan_id,
        months.month,
        plans.currency,
        months.status,
        months.quantity,
        plans.amount as plan_amount,
        plans.plan_interval,
        plans.interval_count as plan_interval_count,
        {{ monthly_recurring('plans.amount', 'months.quantity', 'plans.plan_interval',
                             'plans.interval_count') }} as mrr,
        months.reconstructed
    from months
    inner join {{ ref('stg_pelcro__plan_versions') }} as plans
        on plans.site_id = months.site_id
        and plans.plan_id = months.plan_id
        and plans.valid_from < {{ month_boundary('months.month') }}
        and plans.valid_to >= {{ month_boundary('months.month') }}
)

select * from priced
where mrr is not null and currency is not null and customer_id is not null
