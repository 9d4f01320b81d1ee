{#- The rows of `rows` (a CTE of the valid delivered rows, with ingestion_id and line_number)
    that are the latest delivery of their `key`: files load in name order, so a later delivery
    of a row replaces an earlier one. Only keys delivered more than once are ranked: ranking
    every row sorts the whole delivery. Those keys are found in `delivered` (every delivered
    row's key, valid or not), which reads the key alone: `rows` then is read twice, each time
    straight through, rather than buffered for three readings. -#}
{% macro latest_delivery(rows, key, delivered) -%}
    with repeated_keys as (
        select {{ key }}
        from {{ delivered }}
        group by {{ key }}
        having count(*) > 1
    )

    select * from {{ rows }}
    where {{ key }} not in (select repeated_keys.{{ key }} from repeated_keys)
    union all
    select * from {{ rows }}
    where {{ key }} in (select repeated_keys.{{ key }} from repeated_keys)
    qualify row_number() over (
        partition by {{ key }}
        order by ingestion_id desc, line_number desc
    ) = 1
{%- endmacro %}
