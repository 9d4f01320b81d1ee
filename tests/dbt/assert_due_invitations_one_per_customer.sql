-- The rules make at most one invitation per customer, each with its own id, an address and a
-- link: checked here on the data of `dbt build` and `make test`. A run does not evaluate the
-- rules once more for it: the sender checks the list it takes on, for every date of a range
-- (feedback/ledger.py).
{{ config(tags=['development_only']) }}

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
