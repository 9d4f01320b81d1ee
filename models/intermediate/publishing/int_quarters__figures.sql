-- The figure of every quarter with grades, over every response known now: the plain mean of all
-- its grades over every contact type (not a mean of per-type means), and that mean rounded half
-- up to one decimal as it is published. The publishing step fixes a quarter's figure from here
-- once; later deliveries move only the current figure the marts show beside it.
with

responses as (
    select * from {{ ref('stg_kcm__responses') }}
),

graded_quarters as (
    select
        {{ quarter_of('completed_on') }} as quarter,
        {{ quarter_start('completed_on') }} as quarter_start,
        {{ quarter_end('completed_on') }} as quarter_end,
        grade
    from responses
),

final as (
    select
        quarter,
        quarter_start,
        quarter_end,
        count(*) as response_count,
        avg(grade) as average_grade,
        {{ mean_rounded_half_up('sum(grade)', 'count(*)') }} as rounded_grade
    from graded_quarters
    group by quarter, quarter_start, quarter_end
)

select * from final
