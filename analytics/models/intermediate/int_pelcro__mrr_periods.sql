-- Intervals in which a subscription contributed MRR, at one plan and quantity each:
--  * captured: every history version whose status is in var('mrr_statuses');
--  * reconstructed: before the subscription was first seen (capture began for it), from its
--    lifecycle dates in that first version: from `created` (or `trial_end` after a trial)
--    to `ended_at`/`canceled_at`, at the first-seen plan and quantity, status 'active'.
--    Subscriptions first seen as incomplete never paid, and get none.
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
)

select * from captured
union all
select * from reconstructed
