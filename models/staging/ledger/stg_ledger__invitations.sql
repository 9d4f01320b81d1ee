with

source as (
    select * from {{ source('ledger', 'invitations') }}
),

final as (
    select
        invitation_id,
        contact_event_id,
        customer_id,
        customer_key,
        contact_type,
        contact_date,
        questionnaire_id,
        survey_url,
        email,
        customer_name,
        state,
        state = 'sent' as is_sent,
        -- sent, or handed to the server when a run stopped: the customer has it, most likely
        state in ('sent', 'sending', 'uncertain') as is_emailed,
        case when state in ('sent', 'sending', 'uncertain') then coalesce(sent_on, run_date) end
            as emailed_on,
        -- never sent again: it went out, was refused for good, or may have gone out
        state != 'due' as is_settled,
        run_date,
        sent_on,
        coalesce(attempts, 0) as attempts,
        last_reply_code,
        last_attempt_at,
        error,
        updated_at,
        masked_on
    from source
)

select * from final
