-- Every delivered contact row, typed, with the reason it is rejected (NULL when it is valid).
with

source as (
    select * from {{ source('contacts', 'contact_events') }}
),

typed as (
    select
        nullif(trim(event_id), '') as event_id,
        nullif(trim(customer_id), '') as customer_id,
        nullif(trim(contact_type), '') as contact_type,
        {{ parse_timestamp('occurred_at') }} as occurred_at,
        {{ amsterdam_date(parse_timestamp('occurred_at')) }} as contact_date,
        nullif(trim(occurred_at), '') as occurred_at_text,
        nullif(trim(email), '') as email,
        nullif(trim(customer_name), '') as customer_name,
        nullif(trim(product), '') as product,
        nullif(trim(channel), '') as channel,
        _ingestion_id as ingestion_id,
        _file_name as file_name,
        _line_number as line_number,
        _loaded_at as loaded_at,
        _masked_on as masked_on,
        _delivered_without_customer_id as delivered_without_customer_id,
        {{ row_as_json([
            'event_id',
            'customer_id',
            'contact_type',
            'occurred_at',
            'email',
            'customer_name',
            'product',
            'channel'
        ]) }} as row_as_delivered
    from source
),

dated as (
    select
        *,
        {{ is_dated_after_delivery('occurred_at', 'loaded_at') }} as is_dated_after_delivery
    from typed
),

checked as (
    select
        *,
        case
            when event_id is null then 'missing event_id'
            -- masking empties the customer id of old rows; that is no fault of the row, unless
            -- it came without one
            when
                customer_id is null
                and (masked_on is null or delivered_without_customer_id)
                then 'missing customer_id'
            when contact_type is null then 'missing contact_type'
            when occurred_at_text is null then 'missing occurred_at'
            when occurred_at is null then 'occurred_at is not an ISO 8601 timestamp'
            when is_dated_after_delivery
                then 'occurred_at is more than a year after the delivery was loaded'
        end as rejection_reason
    from dated
)

select * from checked
