-- One row per response with what internal reports group it by (the contact's type, product and
-- channel) and its comment with e-mail addresses, phone numbers and IBANs always redacted
-- (int_kcm__redacted_comments): a report is a file that outlives the 3 months its comments may
-- hold them.
with

responses as (
    select * from {{ ref('survey_responses') }}
),

invitations as (
    select * from {{ ref('stg_ledger__invitations') }}
),

contacts as (
    select * from {{ ref('stg_contacts__events') }}
),

redacted_comments as (
    select * from {{ ref('int_kcm__redacted_comments') }}
),

final as (
    select
        responses.response_id,
        responses.invitation_id,
        responses.quarter,
        responses.completed_at,
        responses.completed_on,
        responses.grade,
        responses.contact_type,
        nullif(contacts.product, '') as product,
        nullif(contacts.channel, '') as channel,
        invitations.sent_on as invitation_sent_on,
        redacted_comments.redacted_comment
    from responses
    left join redacted_comments on responses.response_id = redacted_comments.response_id
    left join invitations on responses.invitation_id = invitations.invitation_id
    left join contacts on invitations.contact_event_id = contacts.event_id
)

select * from final
