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

{#- An ISO 8601 text as an instant: a date and a time (or a date alone, its midnight) without
    an offset is Amsterdam local time; with one (Z, +02:00, +0200, +02) it means that instant.
    NULL for any other text: a time zone name or an offset out of range is not read as local
    time, so that it cannot shift an instant by hours unnoticed. -#}
{% macro parse_timestamp(text) -%}
    {{ return(adapter.dispatch('parse_timestamp', 'feedback_warehouse')(text)) }}
{%- endmacro %}

{% macro duckdb__parse_timestamp(text) -%}
    {%- set value -%} trim({{ text }}) {%- endset -%}
    {%- set date -%} \d{4}-\d{2}-\d{2} {%- endset -%}
    {%- set time -%} [T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)? {%- endset -%}
    {%- set offset -%} (Z|[+-](0\d|1[0-4])(:?[0-5]\d)?) {%- endset -%}
    case
        when regexp_full_match({{ value }}, '{{ date }}({{ time }})?')
            then timezone({{ business_time_zone() }}, try_cast({{ value }} as timestamp))
        when regexp_full_match({{ value }}, '{{ date }}{{ time }}{{ offset }}')
            then try_cast({{ value }} as timestamptz)
    end
{%- endmacro %}
