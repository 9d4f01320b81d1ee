-- The published figure: per complete quarter, the plain mean of all its grades over every
-- contact type (not a mean of per-type means).
with

responses as (
    select * from {{ ref('survey_responses') }}
),

complete_quarters as (
    select
        quarter,
        {{ quarter_start('completed_on') }} as quarter_start,
        {{ quarter_end('completed_on') }} as quarter_end,
        grade
    from responses
    where {{ quarter_end('completed_on') }} < {{ run_date() }}
),

final as (
    select
        quarter,
        quarter_start,
        quarter_end,
        count(*) as response_count,
        avg(grade) as average_grade,
        {{ mean_rounded_half_up('sum(grade)', 'count(*)') }} as published_grade
    from complete_quarters
    group by quarter, quarter_start, quarter_end
)

select * from final
