-- Why did this customer get no e-mail? One row per contact with the rule that decided it.
-- A contact decided for good (past the catch-up bound) shows the outcome kept that day: once
-- masking has cleared what the rules read, they could no longer tell. The rules evaluate only
-- the contacts still open.
--
-- Kept up to date rather than rebuilt: a build replaces the rows that can have changed since
-- the last one (its run date L, and the last delivery it had built): the open contacts, those
-- delivered (again) since, and those masked or kept on or after L that the mart does not show
-- masked or kept yet. A full refresh builds every row the same way.
{{ config(
    materialized='incremental',
    unique_key='contact_event_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    pre_hook=[
        "{% if is_incremental() %}"
        "alter table {{ this }} add column if not exists ingestion_id integer"
        "{% endif %}"
    ]
) }}

with

contacts as (
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

last_build as (
    -- NULL on the first build and on a full refresh: every row is built
    {% if is_incremental() -%}
        select
            max(evaluated_for_run_date) as run_date,
            -- every delivery up to this one had its contacts built (0 in a table made before
            -- the column, which the pre-hook adds: every row is built again once)
            coalesce(max(ingestion_id), 0) as ingestion_id
        from {{ this }}
    {%- else -%}
        select
            cast(null as date) as run_date,
            0 as ingestion_id
    {%- endif %}
),

contacts_changed_since as (
    -- delivered (again) since
    select contact_rows.event_id
    from contact_rows
    cross join last_build
    where contact_rows.ingestion_id > last_build.ingestion_id
    {% if is_incremental() -%}
        union all
        -- masked on or after L while the mart still shows the customer (the run of L masks
        -- before it builds the mart, so most were shown masked by it)
        select contact_rows.event_id
        from contact_rows
        cross join last_build
        inner join {{ this }} as shown on contact_rows.event_id = shown.contact_event_id
        where
            contact_rows.masked_on >= last_build.run_date
            and shown.customer_id is not null
    {%- endif %}
),

shown_as_kept as (
    -- Outcomes kept on or after L that the mart already shows: the run of L keeps outcomes
    -- before it builds the mart, so most were; a second run of the same date may keep more.
    {% if is_incremental() -%}
        select kept_outcomes.contact_event_id
        from kept_outcomes
        cross join last_build
        inner join {{ this }} as shown
            on kept_outcomes.contact_event_id = shown.contact_event_id
        where
            kept_outcomes.decided_on >= last_build.run_date
            and shown.evaluated_for_run_date = kept_outcomes.decided_on
            and shown.outcome = kept_outcomes.outcome
            and shown.invitation_id is not distinct from kept_outcomes.invitation_id
            and shown.invitation_sent_on is not distinct from kept_outcomes.invitation_sent_on
            and shown.blocking_invitation_id is not distinct from kept_outcomes.blocking_invitation_id
            and shown.blocking_sent_on is not distinct from kept_outcomes.blocking_sent_on
    {%- else -%}
        select cast(null as varchar) as contact_event_id
        where false
    {%- endif %}
),

kept_outcomes_to_build as (
    select kept_outcomes.*
    from kept_outcomes
    cross join last_build
    where
        last_build.run_date is null
        or kept_outcomes.contact_event_id in (
            select contacts_changed_since.event_id from contacts_changed_since
        )
        or (
            kept_outcomes.decided_on >= last_build.run_date
            and kept_outcomes.contact_event_id not in (
                select shown_as_kept.contact_event_id from shown_as_kept
            )
        )
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
        contacts.ingestion_id
    from open_outcomes
    inner join contacts on open_outcomes.contact_event_id = contacts.event_id
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
        ingestion_id
    from outcomes
)

select * from final
