{#- Whether a record's time lies more than a year (366 days) after its delivery was loaded (the
    wall clock then): no system can have sent a contact or an answer from that far ahead, so the
    date is wrong (a mistyped year, a placeholder such as 9999-12-31). Such a row is rejected
    rather than left waiting for its date, and its personal data counts from the run that loaded
    it, as for a date that does not parse: counted from its own date it would be kept for years.
    In hours, not days: adding days to an instant goes through the time zone for every row. -#}
{% macro is_dated_after_delivery(record_time, loaded_at) -%}
    coalesce({{ record_time }} > {{ dbt.dateadd('hour', 366 * 24, loaded_at) }}, false)
{%- endmacro %}
