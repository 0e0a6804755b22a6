-- Every known state of every plan. The first version is extended back to -infinity and the
-- last one forward to infinity, so a subscription month before the plan was first seen (or
-- after it was deleted) is priced at the nearest state known.
with history as (
    select site_id, id, _valid_from as valid_from, _valid_to as valid_to,
           amount, "interval", interval_count, currency
    from {{ history_source('plans') }}
),

unversioned as (
    select p.site_id, p.id, p._synced_at as valid_from, p._deleted_at as valid_to,
           p.amount, p."interval", p.interval_count, p.currency
    from {{ source('pelcro', 'plans') }} as p
    where not exists (
        select 1 from {{ history_source('plans') }} as h
        where h.site_id = p.site_id and h.id = p.id
    )
),

versions as (
    select * from history
    union all
    select * from unversioned
),

ranked as (
    select
        *,
        row_number() over (partition by site_id, id order by valid_from) as first_rank,
        row_number() over (partition by site_id, id order by valid_from desc) as last_rank
    from versions
)

select
    site_id,
    id as plan_id,
    amount,
    lower("interval") as plan_interval,
    coalesce(interval_count, 1) as interval_count,
    lower(currency) as currency,
    case when first_rank = 1 then '-infinity'::timestamptz else valid_from end as valid_from,
    case when last_rank = 1 then 'infinity'::timestamptz else valid_to end as valid_to
from ranked
