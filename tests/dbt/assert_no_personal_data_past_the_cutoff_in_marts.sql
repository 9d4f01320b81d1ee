-- After a run, no mart holds a customer id on a record older than the masking cutoff.
-- A warning, not an error: a bare `dbt build` for a later date than the last run's masking
-- step would find what that step has yet to mask.
{{ config(
    severity='warn',
    meta={'dagster': {'ref': {'name': 'feedback_invitations'}}},
) }}

with

invitations as (
    select * from {{ ref('feedback_invitations') }}
),

outcomes as (
    select * from {{ ref('contact_outcomes') }}
)

select
    'feedback_invitations' as mart,
    invitation_id as record_id
from invitations
where customer_id is not null and sent_on < {{ masking_cutoff() }}
union all
select
    'contact_outcomes' as mart,
    contact_event_id as record_id
from outcomes
where customer_id is not null and contact_date < {{ masking_cutoff() }}
