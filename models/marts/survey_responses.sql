-- One row per KCM response, tied to its invitation (and so its contact type) by invitation_id.
--
-- Kept up to date rather than rebuilt: a build replaces the responses delivered (again) or
-- masked since the last one, and those whose invitation changed since. A full refresh builds
-- every row the same way.
{{ config(
    materialized='incremental',
    unique_key='response_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    pre_hook="{{ add_column('built_at', 'timestamp with time zone') }}"
) }}

with

responses as (
    select * from {{ ref('stg_kcm__responses') }}
),

response_rows as (
    select * from {{ ref('base_kcm__responses') }}
),

invitations as (
    select * from {{ ref('stg_ledger__invitations') }}
),

maskings as (
    select * from {{ ref('stg_privacy__maskings') }}
),

last_build as (
    select {{ last_built_at() }} as built_at
),

masked_since as (
    {{ run_dates_masked_since_last_build('maskings', 'kcm_response') }}
),

responses_masked_since as (
    select response_rows.response_id
    from response_rows
    where response_rows.masked_on in (select masked_since.run_date from masked_since)
),

invitations_changed_since as (
    select invitations.invitation_id
    from invitations
    cross join last_build
    where invitations.updated_at > last_build.built_at
),

responses_to_build as (
    select responses.*
    from responses
    cross join last_build
    where
        last_build.built_at is null
        -- delivered (again) since
        or responses.loaded_at > last_build.built_at
        or responses.response_id in (
            select responses_masked_since.response_id from responses_masked_since
        )
        or responses.invitation_id in (
            select invitations_changed_since.invitation_id from invitations_changed_since
        )
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
        invitations.invitation_id is not null as has_known_invitation,
        {{ dbt.current_timestamp() }} as built_at
    from responses_to_build as responses
    left join invitations on responses.invitation_id = invitations.invitation_id
)

select * from final
