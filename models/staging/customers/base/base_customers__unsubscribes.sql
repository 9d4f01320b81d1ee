-- Every delivered unsubscribe row, tied to its invitation's customer through the ledger, with
-- the reason it is rejected (NULL when valid). A timestamp that does not parse still counts.
with

source as (
    select * from {{ source('customers', 'unsubscribes') }}
),

invitations as (
    select * from {{ ref('stg_ledger__invitations') }}
),

typed as (
    select
        nullif(trim(invitation_id), '') as invitation_id,
        {{ parse_timestamp('unsubscribed_at') }} as unsubscribed_at,
        _ingestion_id as ingestion_id,
        _file_name as file_name,
        _line_number as line_number,
        _loaded_at as loaded_at,
        {{ row_as_json(['invitation_id', 'unsubscribed_at']) }} as row_as_delivered
    from source
),

checked as (
    select
        typed.*,
        invitations.customer_key,
        case
            when typed.invitation_id is null then 'missing invitation_id'
            when invitations.invitation_id is null
                then 'unknown invitation_id: no invitation with this id was sent'
        end as rejection_reason
    from typed
    left join invitations on typed.invitation_id = invitations.invitation_id
)

select * from checked
