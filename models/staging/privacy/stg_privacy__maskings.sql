with

source as (
    select * from {{ source('privacy', 'masking_log') }}
),

final as (
    select
        run_date,
        masked_at,
        record_kind,
        masking_cutoff,
        records_masked,
        compacted as is_compacted
    from source
)

select * from final
