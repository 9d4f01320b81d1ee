-- Why did this customer get no e-mail? One row per contact with the rule that decided it.
-- A contact decided for good (past the catch-up bound) shows the outcome kept that day: once
-- masking has cleared what the rules read, they could no longer tell. The rules evaluate only
-- the contacts still open.
--
-- A view: BI tools read it as a table in reporting.duckdb, whose copy evaluates it once per
-- run. Kept as a table in the warehouse it was written three times per run (built, rewritten
-- by the compaction after masking, copied), a quarter of the file each rewrite copies.
{{ config(materialized='view') }}

with

contacts as (
    select * from {{ ref('stg_contacts__events') }}
),

open_outcomes as (
    select * from {{ ref('int_contacts__outcomes') }}
),

kept_outcomes as (
    select * from {{ ref('stg_ledger__contact_outcomes') }}
),

outcomes as (
    select
        open_outcomes.contact_event_id,
        open_outcomes.customer_id,
        open_outcomes.contact_type,
        open_outcomes.occurred_at,
        open_outcomes.contact_date,
        open_outcomes.outcome,
        open_outcomes.invitation_id,
        open_outcomes.invitation_sent_on,
        open_outcomes.blocking_invitation_id,
        open_outcomes.blocking_sent_on,
        open_outcomes.run_date
    from open_outcomes
    union all
    select
        kept_outcomes.contact_event_id,
        contacts.customer_id,
        contacts.contact_type,
        contacts.occurred_at,
        contacts.contact_date,
        kept_outcomes.outcome,
        kept_outcomes.invitation_id,
        kept_outcomes.invitation_sent_on,
        kept_outcomes.blocking_invitation_id,
        kept_outcomes.blocking_sent_on,
        kept_outcomes.decided_on as run_date
    from kept_outcomes
    inner join contacts on kept_outcomes.contact_event_id = contacts.event_id
),

final as (
    select
        contact_event_id,
        customer_id,
        contact_type,
        occurred_at,
        contact_date,
        outcome,
        case outcome
            when 'invited' then 'invited; e-mail sent on ' || invitation_sent_on
            when 'invitation_failed'
                then 'invitation ' || invitation_id
                    || ' failed: refused by the mail server or no valid message'
                    || ' (see marts.invitation_deliveries)'
            when 'delivery_uncertain'
                then 'invitation ' || invitation_id
                    || ' was handed to the mail server when a run stopped;'
                    || ' not sent again (see marts.invitation_deliveries)'
            when 'due' then 'due on ' || run_date || ' but not sent yet'
            when 'awaiting_next_run'
                then 'occurred on or after ' || run_date || '; a later run decides'
            when 'not_surveyed_type' then 'contact type ' || contact_type || ' is not surveyed'
            when 'no_valid_email' then 'no valid e-mail address on this contact'
            when 'opted_out' then 'the customer opted out of invitations'
            when 'emailed_within_quiet_period'
                then 'an invitation was sent on ' || blocking_sent_on || ', less than '
                    || {{ var('invitation_quiet_days') }} || ' days before'
            when 'emailed_after_contact'
                then 'an invitation was sent on ' || blocking_sent_on || ', after this contact'
            when 'later_contact_chosen'
                then 'a more recent contact of the customer was chosen, invited on '
                    || coalesce(cast(blocking_sent_on as varchar), run_date || ' (this run)')
            when 'past_catch_up_bound'
                then 'older than the catch-up bound of '
                    || {{ var('catch_up_days') }} || ' days before it could be invited'
        end as outcome_explanation,
        invitation_id,
        invitation_sent_on,
        blocking_invitation_id,
        blocking_sent_on,
        run_date as evaluated_for_run_date
    from outcomes
)

select * from final
