-- Every known state of every subscription, with the interval it was current in.
-- History rows first; a current row with no history at all (synced before history capture
-- existed and unchanged since) stands in as one version from when it was synced.
with history as (
    select
        site_id, id, _valid_from as valid_from, _valid_to as valid_to,
        user_id, plan, quantity, status, created, trial_end, canceled_at, ended_at,
        cancel_at_period_end
    from {{ history_source('subscriptions') }}
),

unversioned as (
    select
        s.site_id, s.id, s._synced_at as valid_from, s._deleted_at as valid_to,
        s.user_id, s.plan, s.quantity, s.status, s.created, s.trial_end, s.canceled_at,
        s.ended_at, s.cancel_at_period_end
    from {{ source('pelcro', 'subscriptions') }} as s
    where not exists (
        select 1 from {{ history_source('subscriptions') }} as h
        where h.site_id = s.site_id and h.id = s.id
    )
),

versions as (
    select * from history
    union all
    select * from unversioned
)

select
    site_id,
    id as subscription_id,
    user_id as customer_id,
    plan as plan_id,
    coalesce(quantity, 1) as quantity,
    lower(status) as status,
    created as created_at,
    trial_end,
    canceled_at,
    ended_at,
    coalesce(cancel_at_period_end, false) as cancel_at_period_end,
    valid_from,
    valid_to,
    row_number() over (partition by site_id, id order by valid_from) as version_number
from versions
