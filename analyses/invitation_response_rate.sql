-- Per contact type and quarter of sending: invitations sent and how many were answered.
with

invitations as (
    select * from {{ ref('feedback_invitations') }}
),

responses as (
    select * from {{ ref('survey_responses') }}
)

select
    invitations.contact_type,
    {{ quarter_of('invitations.sent_on') }} as quarter_sent,
    count(distinct invitations.invitation_id) as invitations_sent,
    count(distinct responses.invitation_id) as invitations_answered
from invitations
left join responses on invitations.invitation_id = responses.invitation_id
group by invitations.contact_type, quarter_sent
order by quarter_sent, invitations.contact_type
