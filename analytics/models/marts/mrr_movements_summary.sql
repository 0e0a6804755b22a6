{{ config(unlogged=var('marts_unlogged')) }}
-- The MRR waterfall per site, month and currency: starting + new + expansion + contraction
-- + churned + reactivation = ending. Contraction and churned are negative.
-- It is mrr_movements summed by month, computed without reading its row per customer and
-- month: from the months in which a customer's MRR changes (macro mrr_levels), with the
-- ending MRR and the customers counted as running sums over the months.
{%- set movements = ['new', 'expansion', 'contraction', 'churned', 'reactivation'] %}

with changes as (
    select
        site_id, currency, month, mrr - previous_mrr as mrr_change,
        {{ mrr_movement('mrr', 'previous_mrr', 'had_mrr_before') }} as movement
    from {{ mrr_levels(ref('int_pelcro__mrr_periods'), ['site_id', 'customer_id', 'currency']) }}
        as levels
    where mrr > 0 or previous_mrr > 0
),

by_month as (
    select
        site_id, currency, month,
        sum(mrr_change) as net_change,
        {%- for movement in movements %}
        coalesce(sum(mrr_change) filter (where movement = '{{ movement }}'), 0)
            as {{ movement }}_mrr,
        {%- endfor %}
        count(*) filter (where movement = 'new') as new_customers,
        count(*) filter (where movement = 'churned') as churned_customers,
        count(*) filter (where movement = 'reactivation') as reactivated_customers
    from changes
    group by 1, 2, 3
),

calendar as (
    select s.site_id, s.currency, m.month::date as month
    from (select site_id, currency, min(month) as first_month from by_month group by 1, 2) as s
    cross join lateral generate_series(
        s.first_month::timestamp, {{ current_month() }}::timestamp, interval '1 month'
    ) as m (month)
),

running as (
    select
        c.site_id, c.month, c.currency,
        coalesce(b.net_change, 0) as net_change,
        sum(coalesce(b.net_change, 0)) over w as ending_mrr,
        {%- for movement in movements %}
        coalesce(b.{{ movement }}_mrr, 0) as {{ movement }}_mrr,
        {%- endfor %}
        -- a customer starts counting when new or reactivated, and stops when churned
        sum(coalesce(b.new_customers + b.reactivated_customers - b.churned_customers, 0))
            over w as customers,
        coalesce(b.new_customers, 0) as new_customers,
        coalesce(b.churned_customers, 0) as churned_customers,
        coalesce(b.reactivated_customers, 0) as reactivated_customers
    from calendar as c
    left join by_month as b using (site_id, currency, month)
    window w as (partition by c.site_id, c.currency order by c.month)
)

select
    site_id,
    month,
    currency,
    ending_mrr - net_change as starting_mrr,
    {%- for movement in movements %}
    {{ movement }}_mrr,
    {%- endfor %}
    ending_mrr,
    customers::bigint as customers,
    new_customers,
    churned_customers,
    reactivated_customers
from running
-- mrr_movements has a row in a month when a customer had MRR in it or the month before
where ending_mrr > 0 or ending_mrr - net_change > 0
