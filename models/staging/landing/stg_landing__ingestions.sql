with

source as (
    select * from {{ source('landing', 'ingestions') }}
),

final as (
    select
        ingestion_id,
        source,
        file_name,
        sha256,
        rows_read,
        ingested_at,
        run_date as ingested_for_run_date,
        stored_path,
        reason,
        reason is null as is_loaded
    from source
)

select * from final
