-- One row per response with what internal reports group it by (the contact's type, product and
-- channel) and its comment with e-mail addresses, phone numbers and IBANs always redacted
-- (int_kcm__redacted_comments): a report is a file that outlives the 3 months its comments may
-- hold them.
--
-- Kept up to date rather than rebuilt: a build replaces the responses survey_responses built
-- again since the last one (delivered again, masked, their invitation changed) and those whose
-- contact was delivered again since. A full refresh builds every row the same way.
{{ config(
    materialized='incremental',
    unique_key='response_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    pre_hook="{{ add_column('built_at', 'timestamp with time zone') }}"
) }}

with

responses as (
    select * from {{ ref('survey_responses') }}
),

invitations as (
    select * from {{ ref('stg_ledger__invitations') }}
),

contacts as {{ inlined() }} (
    -- read twice, each time for few rows
    select * from {{ ref('stg_contacts__events') }}
),

redacted_comments as (
    select * from {{ ref('int_kcm__redacted_comments') }}
),

last_build as (
    select {{ last_built_at() }} as built_at
),

invitations_of_contacts_delivered_since as (
    select invitations.invitation_id
    from contacts
    cross join last_build
    inner join invitations on contacts.event_id = invitations.contact_event_id
    where contacts.loaded_at > last_build.built_at
),

responses_to_build as (
    select responses.*
    from responses
    cross join last_build
    where
        last_build.built_at is null
        or responses.built_at > last_build.built_at
        or responses.invitation_id in (
            select invitations_of_contacts_delivered_since.invitation_id
            from invitations_of_contacts_delivered_since
        )
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
        redacted_comments.redacted_comment,
        {{ dbt.current_timestamp() }} as built_at
    from responses_to_build as responses
    left join redacted_comments on responses.response_id = redacted_comments.response_id
    left join invitations on responses.invitation_id = invitations.invitation_id
    left join contacts on invitations.contact_event_id = contacts.event_id
)

select * from final
