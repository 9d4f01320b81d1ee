-- One row per KCM response, tied to its invitation (and so its contact type) by invitation_id.
with

responses as (
    select * from {{ ref('stg_kcm__responses') }}
),

invitations as (
    select * from {{ ref('stg_ledger__invitations') }}
),

final as (
    select
        responses.response_id,
        responses.invitation_id,
        invitations.contact_type,
        responses.grade,
        responses.comment,
        responses.completed_at,
        responses.completed_on,
        {{ quarter_of('responses.completed_on') }} as quarter,
        responses.questionnaire_id,
        cast(responses.extra_answers as varchar) as extra_answers,
        invitations.invitation_id is not null as has_known_invitation
    from responses
    left join invitations on responses.invitation_id = invitations.invitation_id
)

select * from final
