{#- MRR as a step function, per `keys` (say site_id, customer_id, currency): one row per month
    in which it changes, computed from the runs of int_pelcro__mrr_periods alone (a run adds
    its MRR from its first month on and takes it away after its last), so a few rows per
    customer instead of one per month. On each row: `mrr`, held from `month` until the month
    before `next_change` (while null, up to the current month); `previous_mrr`, the month
    before's; `had_mrr_before`, whether any earlier month was above 0. numeric sums are
    exact: a level is the same number as the sum of the runs it holds. -#}
{% macro mrr_levels(runs, keys) -%}
    {%- set k = keys | join(', ') -%}
    (
        select
            *,
            coalesce(lag(mrr) over w, 0) as previous_mrr,
            coalesce(bool_or(mrr > 0) over (w rows between unbounded preceding and 1 preceding),
                     false) as had_mrr_before
        from (
            select
                {{ k }}, month,
                sum(sum(delta)) over w as mrr,
                lead(month) over w as next_change
            from (
                select {{ k }}, first_month as month, mrr as delta from {{ runs }}
                union all
                select {{ k }}, (last_month + interval '1 month')::date, -mrr from {{ runs }}
                where last_month < {{ current_month() }}
            ) as deltas
            group by {{ k }}, month
            window w as (partition by {{ k }} order by month)
        ) as levels
        window w as (partition by {{ k }} order by month)
    )
{%- endmacro %}

{#- How MRR moved from `previous_mrr` to `mrr` (CONTRACT.md): new is the first MRR > 0 ever,
    reactivation MRR > 0 after a month at 0 that followed MRR > 0, churned 0 after > 0. -#}
{% macro mrr_movement(mrr, previous_mrr, had_mrr_before) -%}
    case
        when {{ mrr }} > 0 and not {{ had_mrr_before }} then 'new'
        when {{ mrr }} > 0 and {{ previous_mrr }} = 0 then 'reactivation'
        when {{ mrr }} = 0 and {{ previous_mrr }} > 0 then 'churned'
        when {{ mrr }} > {{ previous_mrr }} then 'expansion'
        when {{ mrr }} < {{ previous_mrr }} then 'contraction'
        else 'unchanged'
    end
{%- endmacro %}
