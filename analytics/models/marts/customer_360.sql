{{ config(unlogged=var('marts_unlogged')) }}
-- One row per customer and site. Money is shown in the customer's main currency (the one
-- with the most current MRR, else the most charged); `by_currency` holds every currency.
{%- set statuses = var('mrr_statuses') %}

with customers as (
    select * from {{ ref('stg_pelcro__customers') }}
),

subscriptions as (
    select
        site_id, customer_id,
        min(created_at) as first_subscribed_at,
        count(*) filter (where status in {{ sql_list(statuses) }} and not is_deleted)
            as active_subscriptions,
        count(*) as subscriptions
    from {{ ref('stg_pelcro__subscriptions') }}
    group by 1, 2
),

current_mrr as (
    -- the runs that reach the current month: mrr_monthly's current month, without its scan
    select site_id, customer_id, currency, sum(mrr) as mrr
    from {{ ref('int_pelcro__mrr_periods') }}
    where last_month = {{ current_month() }}
    group by 1, 2, 3
),

charged as (
    select site_id, customer_id, currency, sum(amount) as charged
    from {{ ref('int_pelcro__charges') }}
    where is_successful and not is_deleted and customer_id is not null
    group by 1, 2, 3
),

refunded as (
    select site_id, customer_id, currency, sum(amount) as refunded
    from {{ ref('int_pelcro__refunds') }}
    where is_successful and not is_deleted and customer_id is not null
    group by 1, 2, 3
),

money as (
    select
        site_id, customer_id, currency,
        coalesce(current_mrr.mrr, 0) as mrr,
        coalesce(charged.charged, 0) as charged,
        coalesce(refunded.refunded, 0) as refunded
    from current_mrr
    full outer join charged using (site_id, customer_id, currency)
    full outer join refunded using (site_id, customer_id, currency)
),

ranked as (
    select
        *,
        row_number() over (
            partition by site_id, customer_id order by mrr desc, charged desc, currency
        ) as rank
    from money
),

by_currency as (
    select
        site_id, customer_id,
        jsonb_object_agg(currency, jsonb_build_object(
            'mrr', mrr, 'charged', charged, 'refunded', refunded, 'net', charged - refunded
        )) as by_currency
    from money
    group by 1, 2
),

invoices as (
    select
        site_id, customer_id,
        count(*) filter (where status = 'open') as open_invoices,
        count(*) filter (where status = 'paid') as paid_invoices,
        coalesce(sum(amount_remaining) filter (where status = 'open'), 0) as open_amount_due
    from {{ ref('stg_pelcro__invoices') }}
    where not is_deleted
    group by 1, 2
),

failed as (
    select site_id, customer_id, max(created_at) as last_failed_payment_at
    from {{ ref('int_pelcro__charges') }}
    where status = 'failed' and customer_id is not null
    group by 1, 2
)

select
    c.site_id,
    c.customer_id,
    c.email,
    c.first_name,
    c.last_name,
    c.display_name,
    c.organization_id,
    c.created_at,
    c.is_deleted,
    s.first_subscribed_at,
    coalesce(s.active_subscriptions, 0) as active_subscriptions,
    coalesce(s.subscriptions, 0) as subscriptions,
    main.currency,
    coalesce(main.mrr, 0) as current_mrr,
    coalesce(main.charged, 0) as charged,
    coalesce(main.refunded, 0) as refunded,
    coalesce(main.charged, 0) - coalesce(main.refunded, 0) as net,
    coalesce(b.by_currency, '{}'::jsonb) as by_currency,
    coalesce(i.open_invoices, 0) as open_invoices,
    coalesce(i.paid_invoices, 0) as paid_invoices,
    coalesce(i.open_amount_due, 0) as open_amount_due,
    f.last_failed_payment_at
from customers as c
left join subscriptions as s
    on s.site_id = c.site_id and s.customer_id = c.customer_id
left join ranked as main on main.site_id = c.site_id and main.customer_id = c.customer_id
    and main.rank = 1
left join by_currency as b
    on b.site_id = c.site_id and b.customer_id = c.customer_id
left join invoices as i
    on i.site_id = c.site_id and i.customer_id = c.customer_id
left join failed as f
    on f.site_id = c.site_id and f.customer_id = c.customer_id
