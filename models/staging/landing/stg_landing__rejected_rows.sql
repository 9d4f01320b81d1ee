-- Where each delivered row a value check rejected is, and why: no values, which stay in the raw
-- tables (masking reaches them there). Kept up to date rather than recomputed: checking every
-- row of two years of deliveries for each report costs seconds per million rows, so a build
-- checks the deliveries loaded since the last one. Each delivery checked leaves a row of its own
-- (no line, no reason), so that the next build starts after it even when none of its rows was
-- rejected.
{%- set checked_sources = value_checked_sources() %}

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail'
) }}

with

{% for source, base_model in checked_sources.items() %}
    {{ source }} as (
        select
            '{{ source }}' as source,
            ingestion_id,
            line_number,
            rejection_reason
        from {{ ref(base_model) }}
        where {{ loaded_since_last_build() }}
    ),
{% endfor %}

checked_rows as (
    {% for source in checked_sources %}
        select * from {{ source }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

rejected_rows as (
    select * from checked_rows
    where rejection_reason is not null
),

checked_deliveries as (
    select distinct
        source,
        ingestion_id,
        cast(null as {{ dbt.type_int() }}) as line_number,
        cast(null as {{ dbt.type_string() }}) as rejection_reason
    from checked_rows
),

final as (
    select * from rejected_rows
    union all
    select * from checked_deliveries
)

select * from final
