-- One row per invitation sent, from the sender's ledger.
with

invitations as (
    select * from {{ ref('stg_ledger__invitations') }}
    where is_sent
),

final as (
    select
        invitation_id,
        customer_id,
        contact_event_id,
        contact_type,
        contact_date,
        sent_on,
        questionnaire_id
    from invitations
)

select * from final
