-- The invitations to send on run date D: one per customer at most. The sender reads this view
-- (for each date of a range in turn) and records what it sent in the ledger; it never decides
-- who is eligible.
with

outcomes as (
    select * from {{ ref('int_contacts__outcomes') }}
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
        survey_link
        || case when {{ dbt.position("'?'", 'survey_link') }} > 0 then '&' else '?' end
        || 'invitation_id=' || invitation_id as survey_url,
        trim(email) as email,
        customer_name,
        run_date
    from outcomes
    where outcome = 'due'
)

select * from final
