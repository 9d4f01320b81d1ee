{#- The quarter a date belongs to, like 2026-Q1, and its first and last day. -#}
{% macro quarter_of(date_expr) -%}
    strftime({{ date_expr }}, '%Y') || '-Q' || cast(quarter({{ date_expr }}) as varchar)
{%- endmacro %}

{% macro quarter_start(date_expr) -%}
    cast(date_trunc('quarter', {{ date_expr }}) as date)
{%- endmacro %}

{% macro quarter_end(date_expr) -%}
    cast(date_trunc('quarter', {{ date_expr }}) + interval 3 month - interval 1 day as date)
{%- endmacro %}
