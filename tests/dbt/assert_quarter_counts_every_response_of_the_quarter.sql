-- A quarter's current figure counts every valid response of the quarter, over all types.
{{ config(meta={'dagster': {'ref': {'name': 'quarterly_satisfaction'}}}) }}

with

quarters as (
    select * from {{ ref('quarterly_satisfaction') }}
),

responses as (
    select * from {{ ref('survey_responses') }}
),

counted as (
    select
        quarter,
        count(*) as response_count,
        sum(grade) as grade_total
    from responses
    group by quarter
)

select
    quarters.quarter,
    quarters.current_response_count,
    counted.response_count as responses_in_quarter
from quarters
left join counted on quarters.quarter = counted.quarter
where
    counted.response_count is distinct from quarters.current_response_count
    or abs(counted.grade_total / counted.response_count - quarters.current_average_grade) > 1e-9
