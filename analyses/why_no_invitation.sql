-- "Why did this customer get no e-mail?" Replace the customer id and run with
-- `dbt compile --select why_no_invitation`, or paste the query into a DuckDB shell.
with

outcomes as (
    select * from {{ ref('contact_outcomes') }}
)

select
    contact_event_id,
    contact_type,
    occurred_at,
    outcome,
    outcome_explanation,
    invitation_id,
    blocking_invitation_id
from outcomes
where customer_id = 'K100001'
order by occurred_at
