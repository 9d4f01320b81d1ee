with

source as (
    select * from {{ source('ledger', 'publications') }}
),

final as (
    select
        quarter,
        published_grade,
        response_count,
        average_grade,
        published_on,
        recorded_at
    from source
)

select * from final
