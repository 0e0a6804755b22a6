-- Every month's MRR per site and currency in mrr_movements equals the sum of mrr_monthly.
{{ config(meta={'dagster': {'ref': {'name': 'mrr_movements'}}}) }}
with monthly as (
    select site_id, currency, month, sum(mrr) as mrr from {{ ref('mrr_monthly') }} group by 1, 2, 3
),
movements as (
    select site_id, currency, month, sum(mrr) as mrr from {{ ref('mrr_movements') }} group by 1, 2, 3
)
select *
from monthly
full outer join movements using (site_id, currency, month)
where abs(coalesce(monthly.mrr, 0) - coalesce(movements.mrr, 0)) > 0.000001
