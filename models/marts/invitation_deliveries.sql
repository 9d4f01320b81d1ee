-- What became of every invitation the sender took on: for operations, failures first.
with

invitations as (
    select * from {{ ref('stg_ledger__invitations') }}
),

final as (
    select
        invitation_id,
        contact_event_id,
        contact_type,
        contact_date,
        state,
        attempts,
        last_reply_code,
        error as last_error,
        last_attempt_at,
        run_date as last_taken_on,
        sent_on
    from invitations
)

select * from final
