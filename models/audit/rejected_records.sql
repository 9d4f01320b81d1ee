-- Every delivered row that was not loaded, with the reason and the row as it came.
{%- set checked_sources = value_checked_sources() %}

with

rejected_rows as (
    select * from {{ ref('stg_landing__rejected_rows') }}
    where rejection_reason is not null
),

unreadable_rows as (
    select * from {{ ref('stg_landing__unreadable_rows') }}
),

rejected as (
    {% for source, base_model in checked_sources.items() %}
        -- the row as it is now (masked after 3 months), found by where it is
        select
            rejected_rows.source,
            rejected_rows.ingestion_id,
            delivered.file_name,
            rejected_rows.line_number,
            rejected_rows.rejection_reason as reason,
            cast(delivered.row_as_delivered as varchar) as row_as_delivered,
            delivered.loaded_at
        from rejected_rows
        inner join {{ ref(base_model) }} as delivered
            on
                rejected_rows.ingestion_id = delivered.ingestion_id
                and rejected_rows.line_number = delivered.line_number
        where rejected_rows.source = '{{ source }}'
        union all
    {% endfor %}
    select
        source,
        ingestion_id,
        file_name,
        line_number,
        error as reason,
        row_text as row_as_delivered,
        loaded_at
    from unreadable_rows
)

select * from rejected
