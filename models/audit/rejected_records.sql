-- Every delivered row that was not loaded, with the reason and the row as it came.
with

contact_rows as (
    select * from {{ ref('base_contacts__events') }}
),

response_rows as (
    select * from {{ ref('base_kcm__responses') }}
),

opt_out_rows as (
    select * from {{ ref('base_customers__opt_outs') }}
),

unsubscribe_rows as (
    select * from {{ ref('base_customers__unsubscribes') }}
),

unreadable_rows as (
    select * from {{ ref('stg_landing__unreadable_rows') }}
),

rejected as (
    select
        'contact_events' as source,
        ingestion_id,
        file_name,
        line_number,
        rejection_reason as reason,
        cast(row_as_delivered as varchar) as row_as_delivered,
        loaded_at
    from contact_rows
    where rejection_reason is not null
    union all
    select
        'kcm_responses' as source,
        ingestion_id,
        file_name,
        line_number,
        rejection_reason as reason,
        cast(row_as_delivered as varchar) as row_as_delivered,
        loaded_at
    from response_rows
    where rejection_reason is not null
    union all
    select
        'opt_outs' as source,
        ingestion_id,
        file_name,
        line_number,
        rejection_reason as reason,
        cast(row_as_delivered as varchar) as row_as_delivered,
        loaded_at
    from opt_out_rows
    where rejection_reason is not null
    union all
    select
        'unsubscribes' as source,
        ingestion_id,
        file_name,
        line_number,
        rejection_reason as reason,
        cast(row_as_delivered as varchar) as row_as_delivered,
        loaded_at
    from unsubscribe_rows
    where rejection_reason is not null
    union all
    select
        source,
        ingestion_id,
        file_name,
        line_number,
        error as reason,
        row_text as row_as_delivered,
        loaded_at
    from unreadable_rows
)

select * from rejected
