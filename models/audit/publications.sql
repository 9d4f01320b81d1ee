-- Every publication of the figure, with its date: the website's history, one quarter at a time.
with

publications as (
    select * from {{ ref('stg_ledger__publications') }}
),

final as (
    select
        quarter,
        published_grade,
        response_count,
        average_grade,
        published_on,
        recorded_at
    from publications
)

select * from final
