-- Where each delivered row a value check rejected is, and why: no values, which stay in the raw
-- tables (masking reaches them there). Kept up to date rather than recomputed: checking every
-- row of two years of deliveries for each report costs seconds per million rows, so a build
-- adds the rejected rows of the deliveries loaded since the last one.
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
        where rejection_reason is not null and {{ loaded_since_last_build() }}
    ),
{% endfor %}

rejected as (
    {% for source in checked_sources %}
        select * from {{ source }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select * from rejected
