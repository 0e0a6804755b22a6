select
    site_id,
    id as customer_id,
    email,
    first_name,
    last_name,
    coalesce(nullif(display_name, ''), nullif(name, ''),
             nullif(trim(concat_ws(' ', first_name, last_name)), '')) as display_name,
    organization as organization_id,
    created_at,
    updated_at,
    _deleted_at is not null as is_deleted
from {{ source('pelcro', 'customers') }}
