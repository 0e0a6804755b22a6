{#- Generic tests written here because dbt hub packages (dbt_utils) are not installed. -#}

{#- No two rows share the combination of `columns`: the keys that repeat. Grouping millions of
    keys (mrr_monthly) is slow; counting the distinct 64-bit hashes of the keys is a sort of
    single numbers, several times faster. Only when two hashes are equal (a repeated key, or
    a collision: about one chance in 10^13 for mrr_monthly at 100k customers) are the keys
    themselves grouped, to name the repeats. hash_record_extended: PostgreSQL 14 or later. -#}
{% test unique_combination(model, columns) %}
{%- set key = columns | join(', ') %}
select {{ key }}, count(*) as rows_with_key
from {{ model }}
where (
    select count(*) > count(distinct hash_record_extended(row({{ key }}), 0)) from {{ model }}
)
group by {{ key }}
having count(*) > 1
{% endtest %}

{#- Every row satisfies the SQL boolean `expression`. -#}
{% test expression_is_true(model, expression, column_name=none) %}
select * from {{ model }} where not ({{ expression }})
{% endtest %}

{#- `column_name` (with the row's site_id) names a row of `to` (its `field` and site_id):
    ids are only unique within a site, so the built-in relationships test would be too lax. -#}
{% test relationship_in_site(model, column_name, to, field) %}
select child.site_id, child.{{ column_name }}
from {{ model }} as child
left join {{ to }} as parent
    on parent.site_id = child.site_id and parent.{{ field }} = child.{{ column_name }}
where child.{{ column_name }} is not null and parent.{{ field }} is null
{% endtest %}

{#- starting + each movement = ending, on every row (to a millionth of a minor unit). -#}
{% test movements_add_up(model, starting, movements, ending) %}
select *
from {{ model }}
where abs(
    {{ starting }}
    {% for m in movements %} + {{ m }}{% endfor %}
    - {{ ending }}
) > 0.000001
{% endtest %}
