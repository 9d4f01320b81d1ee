-- A table kept up to date like stg_contacts__events: a day's build takes on that day's
-- deliveries only.
{{ config(
    materialized='incremental',
    unique_key='response_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with

delivered as {{ inlined() }} (
    select * from {{ ref('base_kcm__responses') }}
    where {{ loaded_since_last_build() }}
),

responses as {{ inlined() }} (
    select * from delivered
    where rejection_reason is null
),

latest_delivery as (
    -- KCM redelivers corrected answers under the same response_id
    {{ latest_delivery('responses', 'response_id', 'delivered') }}
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
