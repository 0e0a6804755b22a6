{{ config(unlogged=var('marts_unlogged')) }}
-- Per customer, currency and month: MRR, the month before, and how it moved. A customer's
-- rows are their months with MRR and the month after each run of them (churned, at 0); a
-- month at 0 after a month at 0 has no row.
-- The movements are classified on the months in which a customer's MRR changes (macro
-- mrr_levels: a few rows per customer) and expanded to one row per month only at the end:
-- every month after a change and before the next one is `unchanged`.
with changes as (
    select
        *,
        {{ mrr_movement('mrr', 'previous_mrr', 'had_mrr_before') }} as movement,
        -- the months this level holds; a level of 0 has a row only in its first month
        case when mrr > 0
             then coalesce((next_change - interval '1 month')::date, {{ current_month() }})
             else month end as last_month
    from {{ mrr_levels(ref('int_pelcro__mrr_periods'), ['site_id', 'customer_id', 'currency']) }}
        as levels
    where mrr > 0 or previous_mrr > 0
)

select
    c.site_id,
    c.customer_id,
    c.currency,
    m.month::date as month,
    c.mrr,
    case when m.month = c.month then c.previous_mrr else c.mrr end as previous_mrr,
    case when m.month = c.month then c.mrr - c.previous_mrr else 0 end as mrr_change,
    case when m.month = c.month then c.movement else 'unchanged' end as movement
from changes as c
cross join lateral generate_series(
    c.month::timestamp, c.last_month::timestamp, interval '1 month'
) as m (month)
