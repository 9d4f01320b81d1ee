{#- The run date D, as dbt renders it: var `as_of` (YYYY-MM-DD), else the environment's
    FEEDBACK_RUN_DATE (how orchestrated runs pass it: a var that changes every day makes dbt parse
    the whole project again; runs set the variable for the build, not while dbt parses), else
    today in Europe/Amsterdam. -#}
{% macro run_date_text() -%}
    {%- set as_of = var('as_of', '') or env_var('FEEDBACK_RUN_DATE', '') -%}
    {%- if as_of in (none, '') -%}
        {%- set as_of = modules.datetime.datetime.now(
            modules.pytz.timezone('Europe/Amsterdam')).date().isoformat() -%}
    {%- elif not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', as_of | string) -%}
        {{ exceptions.raise_compiler_error(
            "run date " ~ as_of ~ " (var as_of or FEEDBACK_RUN_DATE) is not a date like 2026-04-01") }}
    {%- endif -%}
    {{ as_of }}
{%- endmacro %}

{#- The run date D in SQL. Where the engine has session variables, a session that sets
    `feedback_run_date` evaluates the rules' views for that date instead: a run over a range of
    dates applies the one set of rules to each date in turn, without building them again. -#}
{% macro run_date() -%}
    {{ return(adapter.dispatch('run_date', 'feedback_warehouse')()) }}
{%- endmacro %}

{% macro default__run_date() -%}
    date '{{ run_date_text() }}'
{%- endmacro %}

{% macro duckdb__run_date() -%}
    coalesce(getvariable('feedback_run_date'), date '{{ run_date_text() }}')
{%- endmacro %}
