with

responses as (
    select * from {{ ref('base_kcm__responses') }}
    where rejection_reason is null
),

ranked_deliveries as (
    -- KCM redelivers corrected answers under the same response_id
    select
        *,
        row_number() over (
            partition by response_id
            order by ingestion_id desc, line_number desc
        ) as delivery_rank
    from responses
),

latest_delivery as (
    select * from ranked_deliveries
    where delivery_rank = 1
),

final as (
    select
        response_id,
        invitation_id,
        questionnaire_id,
        completed_at,
        completed_on,
        grade,
        comment,
        extra_answers,
        ingestion_id,
        file_name,
        line_number,
        loaded_at
    from latest_delivery
)

select * from final
