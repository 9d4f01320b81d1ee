-- Every delivered row that was not loaded, with the reason and the row as it came.
{%- set checked_sources = {
    'contact_events': 'base_contacts__events',
    'kcm_responses': 'base_kcm__responses',
    'opt_outs': 'base_customers__opt_outs',
    'unsubscribes': 'base_customers__unsubscribes',
} %}

with

unreadable_rows as (
    select * from {{ ref('stg_landing__unreadable_rows') }}
),

rejected as (
    {% for source, base_model in checked_sources.items() %}
        select
            '{{ source }}' as source,
            ingestion_id,
            file_name,
            line_number,
            rejection_reason as reason,
            cast(row_as_delivered as varchar) as row_as_delivered,
            loaded_at
        from {{ ref(base_model) }}
        where rejection_reason is not null
        union all
    {% endfor %}
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
