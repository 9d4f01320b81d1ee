-- What the sender e-mails on D: at most one invitation per customer, each with its own id, an
-- address and a link. Checked by every run before it sends.
{{ config(meta={'dagster': {'ref': {'name': 'int_invitations__due'}}}) }}

with

due as (
    select * from {{ ref('int_invitations__due') }}
),

checked as (
    select
        invitation_id,
        case
            when invitation_id is null then 'no invitation id'
            when customer_id is null then 'no customer id'
            when email is null then 'no e-mail address'
            when survey_url is null then 'no questionnaire link'
            when count(*) over (partition by invitation_id) > 1 then 'invitation id twice'
            when count(*) over (partition by customer_id) > 1 then 'two invitations to a customer'
        end as failure
    from due
)

select * from checked
where failure is not null
