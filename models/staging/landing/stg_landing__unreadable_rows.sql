with

source as (
    select * from {{ source('landing', 'unreadable_rows') }}
),

final as (
    select
        source,
        _ingestion_id as ingestion_id,
        _file_name as file_name,
        _line_number as line_number,
        _loaded_at as loaded_at,
        error,
        row_text,
        _masked_on as masked_on
    from source
)

select * from final
