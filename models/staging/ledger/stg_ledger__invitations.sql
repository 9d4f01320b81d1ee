with

source as (
    select * from {{ source('ledger', 'invitations') }}
),

final as (
    select
        invitation_id,
        contact_event_id,
        customer_id,
        contact_type,
        contact_date,
        questionnaire_id,
        survey_url,
        email,
        customer_name,
        state,
        state = 'sent' as is_sent,
        run_date,
        sent_on,
        updated_at,
        masked_on
    from source
)

select * from final
