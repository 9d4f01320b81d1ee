{#- Whether a record's date lies more than a year after its delivery was loaded (the wall clock
    then): no system can have sent a contact or an answer from that far ahead, so the date is
    wrong (a mistyped year, a placeholder such as 9999-12-31). Such a row is rejected rather than
    left waiting for its date, and its personal data counts from the run that loaded it, as for a
    date that does not parse: counted from its own date it would be kept for years. -#}
{% macro is_dated_after_delivery(record_date, loaded_at) -%}
    ({{ record_date }} > {{ dbt.dateadd('year', 1, amsterdam_date(loaded_at)) }})
{%- endmacro %}

{#- The record's date, or NULL when it is more than a year after its delivery. -#}
{% macro plausible_date(record_date, loaded_at) -%}
    case
        when {{ is_dated_after_delivery(record_date, loaded_at) }} then null else {{ record_date }}
    end
{%- endmacro %}
