-- The MRR waterfall per site, month and currency: starting + new + expansion + contraction
-- + churned + reactivation = ending. Contraction and churned are negative.
select
    site_id,
    month,
    currency,
    sum(previous_mrr) as starting_mrr,
    {%- for movement in ['new', 'expansion', 'contraction', 'churned', 'reactivation'] %}
    coalesce(sum(mrr_change) filter (where movement = '{{ movement }}'), 0) as {{ movement }}_mrr,
    {%- endfor %}
    sum(mrr) as ending_mrr,
    count(*) filter (where mrr > 0) as customers,
    count(*) filter (where movement = 'new') as new_customers,
    count(*) filter (where movement = 'churned') as churned_customers,
    count(*) filter (where movement = 'reactivation') as reactivated_customers
from {{ ref('mrr_movements') }}
group by 1, 2, 3
