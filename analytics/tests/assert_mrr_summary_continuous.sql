-- A month's starting MRR is the previous month's ending MRR, per site and currency.
{{ config(meta={'dagster': {'ref': {'name': 'mrr_movements_summary'}}}) }}
select cur.site_id, cur.currency, cur.month, cur.starting_mrr, prev.ending_mrr
from {{ ref('mrr_movements_summary') }} as cur
left join {{ ref('mrr_movements_summary') }} as prev
    on prev.site_id = cur.site_id and prev.currency = cur.currency
    and prev.month = (cur.month - interval '1 month')::date
where abs(cur.starting_mrr - coalesce(prev.ending_mrr, 0)) > 0.000001
