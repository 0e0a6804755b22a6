-- Sorting once serves both the sum per customer month and the windows over it; a hash
-- aggregate first would sort again (measured at 100k customers: 65 s instead of 102 s).
{{ config(pre_hook=["set local enable_hashagg = off"]) }}

-- Per customer, currency and month: MRR, the month before, and how it moved. A customer's
-- rows are their months with MRR and the month after each run of them (churned, at 0); a
-- month at 0 after a month at 0 has no row.
-- Built from the months that have MRR alone (no calendar of zeros): a gap before a row means
-- the month before was at 0, and a gap after one means a churn in the month after it.
with monthly as (
    select site_id, customer_id, currency, month, sum(mrr) as mrr
    from {{ ref('mrr_monthly') }}
    group by 1, 2, 3, 4
),

sequenced as (
    select
        *,
        lag(month) over w as previous_month,
        lag(mrr) over w as previous_row_mrr,
        lead(month) over w as next_month,
        coalesce(bool_or(mrr > 0) over (w rows between unbounded preceding and 1 preceding),
                 false) as had_mrr_before
    from monthly
    window w as (partition by site_id, customer_id, currency order by month)
),

with_mrr as (
    select
        site_id, customer_id, currency, month, mrr,
        case when previous_month = (month - interval '1 month')::date
             then previous_row_mrr else 0 end as previous_mrr,
        had_mrr_before
    from sequenced
),

churned as (
    -- the month after a month with MRR that no row follows
    select
        site_id, customer_id, currency, (month + interval '1 month')::date as month,
        0::numeric as mrr, mrr as previous_mrr, true as had_mrr_before
    from sequenced
    where mrr > 0
        and next_month is distinct from (month + interval '1 month')::date
        and month < {{ current_month() }}
),

moves as (
    select * from with_mrr
    union all
    select * from churned
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
from moves
where mrr > 0 or previous_mrr > 0
