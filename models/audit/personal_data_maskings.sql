-- What each run masked, per record kind, and the cutoff it used: the privacy officer's record
-- that personal data past 3 months is gone, and gone from the warehouse file's bytes as well.
with

maskings as (
    select * from {{ ref('stg_privacy__maskings') }}
),

final as (
    select
        run_date,
        masked_at,
        record_kind,
        masking_cutoff,
        records_masked,
        is_compacted
    from maskings
)

select * from final
