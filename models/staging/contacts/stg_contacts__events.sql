-- A table kept up to date: a day's build takes on that day's deliveries only (one that
-- delivers an event again replaces its row), rather than ranking two years of them again.
{{ config(
    materialized='incremental',
    unique_key='event_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    pre_hook="{{ add_column('has_valid_email', 'boolean', is_valid_email('email')) }}"
) }}

with

delivered as {{ inlined() }} (
    select * from {{ ref('base_contacts__events') }}
    where {{ loaded_since_last_build() }}
),

events as {{ inlined() }} (
    select * from delivered
    where rejection_reason is null
),

latest_delivery as (
    {{ latest_delivery('events', 'event_id', 'delivered') }}
),

final as (
    select
        event_id,
        customer_id,
        contact_type,
        occurred_at,
        contact_date,
        email,
        customer_name,
        product,
        channel,
        ingestion_id,
        file_name,
        line_number,
        loaded_at,
        -- checked once, as the row is staged: the rules ask for each date of a range, and
        -- compiling this pattern (its Unicode letter classes) took half of each question
        {{ is_valid_email('email') }} as has_valid_email
    from latest_delivery
)

select * from final
