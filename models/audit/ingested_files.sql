-- One row per landed file: how many of its rows were loaded and rejected, or why it was not.
with

ingestions as (
    select * from {{ ref('stg_landing__ingestions') }}
),

rejected as (
    select * from {{ ref('rejected_records') }}
),

rejected_per_file as (
    select
        ingestion_id,
        count(*) as rows_rejected
    from rejected
    group by ingestion_id
),

final as (
    select
        ingestions.source,
        ingestions.file_name,
        ingestions.sha256,
        ingestions.rows_read - coalesce(rejected_per_file.rows_rejected, 0) as rows_loaded,
        coalesce(rejected_per_file.rows_rejected, 0) as rows_rejected,
        ingestions.ingested_at,
        ingestions.reason,
        ingestions.ingestion_id,
        ingestions.stored_path
    from ingestions
    left join rejected_per_file on ingestions.ingestion_id = rejected_per_file.ingestion_id
)

select * from final
