{#- The quarter a date belongs to, like 2026-Q1, and its first and last day. -#}
{% macro quarter_of(date_expr) -%}
    {{ return(adapter.dispatch('quarter_of', 'feedback_warehouse')(date_expr)) }}
{%- endmacro %}

{% macro duckdb__quarter_of(date_expr) -%}
    strftime({{ date_expr }}, '%Y') || '-Q' || cast(quarter({{ date_expr }}) as varchar)
{%- endmacro %}

{% macro quarter_start(date_expr) -%}
    cast({{ dbt.date_trunc('quarter', date_expr) }} as date)
{%- endmacro %}

{% macro quarter_end(date_expr) -%}
    {{ days_before(dbt.dateadd('month', 3, dbt.date_trunc('quarter', date_expr)), 1) }}
{%- endmacro %}
