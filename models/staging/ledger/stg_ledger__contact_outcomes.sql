with

source as (
    select * from {{ source('ledger', 'contact_outcomes') }}
),

final as (
    select
        contact_event_id,
        -- Outcomes kept before the code named no number keep their old name in the ledger.
        case outcome
            when 'emailed_within_4_weeks_before' then 'emailed_within_quiet_period'
            else outcome
        end as outcome,
        invitation_id,
        invitation_sent_on,
        blocking_invitation_id,
        blocking_sent_on,
        decided_on,
        recorded_at,
        catch_up_bound,
        seen_through_ingestion_id
    from source
)

select * from final
