{#- The marts land in the target schema itself (PELCRO_MARTS_SCHEMA), not in dbt's
    default `<target>_<custom>`; staging and intermediate models ask for `staging` and get
    `<marts>_staging`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ target.schema }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
