{#- The run date D: var `as_of` (YYYY-MM-DD), else the environment's FEEDBACK_RUN_DATE (how
    the orchestrated runs pass it: a var that changes every day makes dbt parse the whole project
    again, an environment variable only the files that use it), else today in Europe/Amsterdam. -#}
{% macro run_date() -%}
    {%- set as_of = var('as_of', '') or env_var('FEEDBACK_RUN_DATE', '') -%}
    {%- if as_of in (none, '') -%}
        {%- set as_of = modules.datetime.datetime.now(
            modules.pytz.timezone('Europe/Amsterdam')).date().isoformat() -%}
    {%- elif not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', as_of | string) -%}
        {{ exceptions.raise_compiler_error(
            "run date " ~ as_of ~ " (var as_of or FEEDBACK_RUN_DATE) is not a date like 2026-04-01") }}
    {%- endif -%}
    date '{{ as_of }}'
{%- endmacro %}
