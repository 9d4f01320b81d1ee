{#- The run date D: var `as_of` (YYYY-MM-DD), or today in Europe/Amsterdam. -#}
{% macro run_date() -%}
    {%- set as_of = var('as_of', '') -%}
    {%- if as_of in (none, '') -%}
        {%- set as_of = modules.datetime.datetime.now(
            modules.pytz.timezone('Europe/Amsterdam')).date().isoformat() -%}
    {%- elif not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', as_of | string) -%}
        {{ exceptions.raise_compiler_error(
            "var as_of=" ~ as_of ~ " is not a date like 2026-04-01") }}
    {%- endif -%}
    date '{{ as_of }}'
{%- endmacro %}
