{#- Business time is Europe/Amsterdam: "the date of" a timestamp is its local date there. -#}
{% macro business_time_zone() -%}
    'Europe/Amsterdam'
{%- endmacro %}

{% macro amsterdam_date(timestamp_tz) -%}
    {{ return(adapter.dispatch('amsterdam_date', 'feedback_warehouse')(timestamp_tz)) }}
{%- endmacro %}

{% macro duckdb__amsterdam_date(timestamp_tz) -%}
    cast(timezone({{ business_time_zone() }}, {{ timestamp_tz }}) as date)
{%- endmacro %}

{#- An ISO 8601 text as an instant: with an offset (Z, +02:00) it means that instant,
    without one it is Amsterdam local time. NULL when it does not parse. -#}
{% macro parse_timestamp(text) -%}
    {{ return(adapter.dispatch('parse_timestamp', 'feedback_warehouse')(text)) }}
{%- endmacro %}

{% macro duckdb__parse_timestamp(text) -%}
    case
        when regexp_matches(trim({{ text }}), '\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|z|[+-]\d{2}(:?\d{2})?)$')
            then try_cast(trim({{ text }}) as timestamptz)
        else timezone({{ business_time_zone() }}, try_cast(trim({{ text }}) as timestamp))
    end
{%- endmacro %}
