-- One row per published quarter: the figure as published, which stands, and beside it the
-- quarter's figure over every response known now, so a late or corrected response shows as a
-- restatement rather than changing what was published.
with

publications as (
    select * from {{ ref('stg_ledger__publications') }}
),

figures as (
    select * from {{ ref('int_quarters__figures') }}
),

final as (
    select
        publications.quarter,
        figures.quarter_start,
        figures.quarter_end,
        publications.response_count,
        publications.average_grade,
        publications.published_grade,
        publications.published_on,
        coalesce(figures.response_count, 0) as current_response_count,
        figures.average_grade as current_average_grade,
        figures.rounded_grade as current_rounded_grade
    from publications
    left join figures on publications.quarter = figures.quarter
)

select * from final
