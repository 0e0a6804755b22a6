-- Charges with the customer and currency of their invoice: the charge list record documents
-- neither (API docs section 0), so the invoice's currency wins, then whatever currency the
-- charge itself carried, then 'xxx' (ISO 4217: no currency).
select
    c.site_id,
    c.charge_id,
    c.invoice_id,
    i.customer_id,
    coalesce(i.currency, c.charge_currency, 'xxx') as currency,
    c.amount,
    c.status,
    c.created_at,
    c.is_deleted,
    coalesce(c.status = 'succeeded', c.paid, false) as is_successful
from {{ ref('stg_pelcro__charges') }} as c
left join {{ ref('stg_pelcro__invoices') }} as i
    on i.site_id = c.site_id and i.invoice_id = c.invoice_id
