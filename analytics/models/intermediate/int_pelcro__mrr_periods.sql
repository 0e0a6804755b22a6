-- Runs of months in which a subscription contributed MRR at one state and one plan price:
-- the row-per-month marts (mrr_monthly) expand these, and the movements and churn are
-- computed from their ends alone (a few rows per subscription, not one per month).
-- Intervals of the subscription's states:
--  * captured: every history version whose status is in var('mrr_statuses');
--  * reconstructed: before the subscription was first seen (capture began for it), from its
--    lifecycle dates in that first version: from `created` (or `trial_end` after a trial)
--    to `ended_at`/`canceled_at`, at the first-seen plan and quantity, status 'active'.
--    Subscriptions first seen as incomplete never paid, and get none.
-- A month counts for an interval when the interval holds the month's last instant,
-- valid_from < boundary <= valid_to (macro month_boundary): that is every month from
-- valid_from's to the one before valid_to's, and the current month while the interval is
-- open. The same rule for plan versions splits a run where its plan's price changed.
{%- set statuses = var('mrr_statuses') %}

with versions as (
    select * from {{ ref('stg_pelcro__subscription_versions') }}
),

captured as (
    select
        site_id, subscription_id, customer_id, plan_id, quantity, status,
        valid_from, valid_to, false as reconstructed
    from versions
    where status in {{ sql_list(statuses) }}
),

first_seen as (
    select
        site_id, subscription_id, customer_id, plan_id, quantity,
        greatest(created_at, coalesce(trial_end, created_at)) as live_from,
        least(coalesce(ended_at, canceled_at, 'infinity'::timestamptz), valid_from) as live_to
    from versions
    where version_number = 1
        and created_at is not null
        and status not in ('incomplete', 'incomplete_expired')
),

reconstructed as (
    select
        site_id, subscription_id, customer_id, plan_id, quantity, 'active' as status,
        live_from as valid_from, live_to as valid_to, true as reconstructed
    from first_seen
    where live_from < live_to
        {%- if 'active' not in statuses %} and false{% endif %}
),

periods as (
    select
        *,
        {{ month_of('valid_from') }} as first_month,
        {{ last_month_of('valid_to') }} as last_month
    from (select * from captured union all select * from reconstructed) as p
),

plans as (
    -- the first and last plan versions reach to -infinity and infinity: no bound there
    select
        *,
        case when valid_from = '-infinity' then '-infinity'::date
             else {{ month_of('valid_from') }} end as first_month,
        case when valid_to = 'infinity' then 'infinity'::date
             else {{ last_month_of('valid_to') }} end as last_month
    from {{ ref('stg_pelcro__plan_versions') }}
    where valid_from is not null and valid_to is not null
),

runs as (
    select
        p.site_id,
        p.subscription_id,
        p.customer_id,
        p.plan_id,
        plans.currency,
        p.status,
        p.quantity,
        plans.amount as plan_amount,
        plans.plan_interval,
        plans.interval_count as plan_interval_count,
        {{ monthly_recurring('plans.amount', 'p.quantity', 'plans.plan_interval',
                             'plans.interval_count') }} as mrr,
        p.reconstructed,
        greatest(p.first_month, plans.first_month) as first_month,
        least(p.last_month, plans.last_month) as last_month
    from periods as p
    inner join plans
        on plans.site_id = p.site_id
        and plans.plan_id = p.plan_id
        and plans.first_month <= p.last_month
        and plans.last_month >= p.first_month
)

select * from runs
where first_month <= last_month
    and mrr is not null and currency is not null and customer_id is not null
