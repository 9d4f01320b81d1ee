with

events as (
    select * from {{ ref('base_contacts__events') }}
    where rejection_reason is null
),

ranked_deliveries as (
    -- files load in name order, so a later delivery of an event replaces an earlier one
    select
        *,
        row_number() over (
            partition by event_id
            order by ingestion_id desc, line_number desc
        ) as delivery_rank
    from events
),

latest_delivery as (
    select * from ranked_deliveries
    where delivery_rank = 1
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
        loaded_at
    from latest_delivery
)

select * from final
