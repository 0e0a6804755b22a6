-- Per customer, currency and month: MRR, the month before, and how it moved. A customer's
-- rows are their months with MRR and the month after each run of them (churned, at 0); a
-- month at 0 after a month at 0 has no row.
-- A customer's MRR only changes where one of their subscription runs (int_pelcro__mrr_periods)
-- starts or ends, so the movements are computed on those change points (a few per customer)
-- and expanded to one row per month at the very end: every month after a change point and
-- before the next one is `unchanged`.
with runs as (
    select site_id, customer_id, currency, first_month, last_month, mrr
    from {{ ref('int_pelcro__mrr_periods') }}
),

deltas as (
    -- a run adds its MRR from its first month on and takes it away after its last
    select site_id, customer_id, currency, first_month as month, mrr as delta from runs
    union all
    select site_id, customer_id, currency, (last_month + interval '1 month')::date, -mrr
    from runs
    where last_month < {{ current_month() }}
),

changes as (
    -- numeric sums are exact: a level is the same number as the sum of the runs it holds
    select
        site_id, customer_id, currency, month,
        sum(sum(delta)) over w as mrr,
        lead(month) over w as next_change
    from deltas
    group by 1, 2, 3, 4
    window w as (partition by site_id, customer_id, currency order by month)
),

steps as (
    select
        *,
        coalesce(lag(mrr) over w, 0) as previous_mrr,
        coalesce(bool_or(mrr > 0) over (w rows between unbounded preceding and 1 preceding),
                 false) as had_mrr_before
    from changes
    window w as (partition by site_id, customer_id, currency order by month)
),

moves as (
    select
        *,
        case
            when mrr > 0 and not had_mrr_before then 'new'
            when mrr > 0 and previous_mrr = 0 then 'reactivation'
            when mrr = 0 and previous_mrr > 0 then 'churned'
            when mrr > previous_mrr then 'expansion'
            when mrr < previous_mrr then 'contraction'
            else 'unchanged'
        end as movement,
        -- the months this level holds; a level of 0 has a row only in its first month
        case when mrr > 0
             then coalesce((next_change - interval '1 month')::date, {{ current_month() }})
             else month end as last_month
    from steps
    where mrr > 0 or previous_mrr > 0
)

select
    moves.site_id,
    moves.customer_id,
    moves.currency,
    m.month::date as month,
    moves.mrr,
    case when m.month = moves.month then moves.previous_mrr else moves.mrr end as previous_mrr,
    case when m.month = moves.month then moves.mrr - moves.previous_mrr else 0 end
        as mrr_change,
    case when m.month = moves.month then moves.movement else 'unchanged' end as movement
from moves
cross join lateral generate_series(
    moves.month::timestamp, moves.last_month::timestamp, interval '1 month'
) as m (month)
