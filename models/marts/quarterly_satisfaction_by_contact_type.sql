-- Per complete quarter and contact type, for internal use; the published figure is the mean
-- over all types in quarterly_satisfaction.
with

responses as (
    select * from {{ ref('survey_responses') }}
),

complete_quarters as (
    select
        quarter,
        contact_type,
        grade
    from responses
    where {{ quarter_end('completed_on') }} < {{ run_date() }}
),

final as (
    select
        quarter,
        contact_type,
        count(*) as response_count,
        avg(grade) as average_grade
    from complete_quarters
    group by quarter, contact_type
)

select * from final
