{#- Contract MRR of one subscription state, in minor units per month (CONTRACT.md): the plan's
    amount x quantity normalized to a month (day x 365/12, week x 52/12, month x 1,
    year x 1/12), divided by interval_count. One division, so numeric keeps every digit it
    can; unknown intervals give null. -#}
{% macro monthly_recurring(amount, quantity, interval, interval_count) -%}
    (
        {{ amount }}::numeric * coalesce({{ quantity }}, 1)
        * case lower({{ interval }})
            when 'day' then 365
            when 'week' then 52
            when 'month' then 12
            when 'year' then 1
          end
        / (12 * greatest(coalesce({{ interval_count }}, 1), 1))
    )
{%- endmacro %}

{#- The instant a month's value is read at: its last instant, i.e. the state still valid at
    the start of the next month (UTC). A version counts for `month` when
    valid_from < boundary <= coalesce(valid_to, infinity). -#}
{% macro month_boundary(month) -%}
    (({{ month }} + interval '1 month')::timestamp at time zone 'UTC')
{%- endmacro %}

{% macro month_start_instant(month) -%}
    ({{ month }}::timestamp at time zone 'UTC')
{%- endmacro %}

{% macro current_month() -%}
    (date_trunc('month', now() at time zone 'UTC')::date)
{%- endmacro %}

{% macro month_of(ts) -%}
    (date_trunc('month', {{ ts }} at time zone 'UTC')::date)
{%- endmacro %}

{#- The last month whose value an interval ending at `valid_to` holds (its last instant is
    before valid_to): the month before valid_to's; the current month while it is open (null)
    or when it ends later. -#}
{% macro last_month_of(valid_to) -%}
    (least(
        coalesce(({{ month_of(valid_to) }} - interval '1 month')::date, {{ current_month() }}),
        {{ current_month() }}
    ))
{%- endmacro %}

{% macro sql_list(values) -%}
    ({% for v in values %}'{{ v }}'{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}

{#- The history table of an entity source (`<entity>_history`, same schema). Read through the
    entity's source, so lineage runs to the one asset that writes both tables. -#}
{% macro history_source(entity) -%}
    {%- set current = source('pelcro', entity) -%}
    {{ current.incorporate(path={'identifier': current.identifier ~ '_history'}) }}
{%- endmacro %}
