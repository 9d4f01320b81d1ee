-- Why did this customer get no e-mail? One row per contact with the rule that decided it.
-- A contact decided for good (past the catch-up bound) shows the outcome kept that day: once
-- masking has cleared what the rules read, they could no longer tell. The rules evaluate only
-- the contacts still open.
--
-- Kept up to date rather than rebuilt: a build replaces the rows that can have changed since
-- the last one (when it ran, and the last delivery it had built): the open contacts, those
-- delivered (again), masked or kept as decided since. A full refresh builds every row the same
-- way.
{{ config(
    materialized='incremental',
    unique_key='contact_event_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    pre_hook=[
        "{% if is_incremental() %}"
        "alter table {{ this }} add column if not exists ingestion_id integer"
        "{% endif %}",
        "{{ add_built_at() }}"
    ]
) }}

with

contacts as {{ inlined() }} (
    -- read twice (those delivered since, the kept half of `outcomes`), each time for few rows
    select * from {{ ref('stg_contacts__events') }}
),

contact_rows as (
    select * from {{ ref('base_contacts__events') }}
),

open_outcomes as (
    select * from {{ ref('int_contacts__outcomes') }}
),

kept_outcomes as (
    select * from {{ ref('stg_ledger__contact_outcomes') }}
),

maskings as (
    select * from {{ ref('stg_privacy__maskings') }}
),

last_build as (
    -- NULL on the first build and on a full refresh: every row is built
    {% if is_incremental() -%}
        select
            max(evaluated_for_run_date) as run_date,
            -- every delivery up to this one had its contacts built; a table made before these
            -- columns (the pre-hook adds them) has every row built again once
            coalesce(max(ingestion_id), 0) as ingestion_id,
            {{ last_built_at() }} as built_at
        from {{ this }}
    {%- else -%}
        select
            cast(null as date) as run_date,
            0 as ingestion_id,
            {{ last_built_at() }} as built_at
    {%- endif %}
),

masked_since as (
    {{ run_dates_masked_since_last_build('maskings', 'contact_event') }}
),

contacts_changed_since as ( -- noqa: ST03
    -- delivered (again) or masked since, looked up apart: each lookup alone lets the engine
    -- skip the parts of the history it cannot touch. (Unused by a full build.)
    select contacts.event_id
    from contacts
    inner join last_build on contacts.ingestion_id > last_build.ingestion_id
    union all
    select contact_rows.event_id
    from contact_rows
    where contact_rows.masked_on in (select masked_since.run_date from masked_since)
),

kept_outcomes_to_build as (
    -- all on a full build: looking every one up in what changed cost 3.4 of 10 s there
    select kept_outcomes.*
    from kept_outcomes
    {% if is_incremental() -%}
        cross join last_build
        where
            last_build.run_date is null
            or kept_outcomes.contact_event_id in (
                select contacts_changed_since.event_id from contacts_changed_since
            )
            -- kept as decided since
            or kept_outcomes.recorded_at > last_build.built_at
    {%- endif %}
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
        open_outcomes.run_date,
        open_outcomes.ingestion_id
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
        kept_outcomes.decided_on as run_date,
        contacts.ingestion_id
    from kept_outcomes_to_build as kept_outcomes
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
            when 'emailed_within_4_weeks_before'
                then 'an invitation was sent on ' || blocking_sent_on || ', within 4 weeks before'
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
        run_date as evaluated_for_run_date,
        ingestion_id,
        {{ dbt.current_timestamp() }} as built_at
    from outcomes
)

select * from final
