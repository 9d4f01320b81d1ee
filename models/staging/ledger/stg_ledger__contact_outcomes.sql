with

source as (
    select * from {{ source('ledger', 'contact_outcomes') }}
),

final as (
    select
        contact_event_id,
        outcome,
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
