-- Every customer who said no: by an opt-out, or by the unsubscribe link of an e-mail.
with

opt_outs as (
    select * from {{ ref('base_customers__opt_outs') }}
    where rejection_reason is null
),

unsubscribes as (
    select * from {{ ref('base_customers__unsubscribes') }}
    where rejection_reason is null
),

said_no as (
    select
        {{ customer_key('customer_id') }} as customer_key,
        opted_out_at,
        loaded_at,
        'opt_out' as opted_out_by
    from opt_outs
    union all
    select
        customer_key,
        unsubscribed_at as opted_out_at,
        loaded_at,
        'unsubscribe' as opted_out_by
    from unsubscribes
),

final as (
    -- once loaded, an opt-out stops every later invitation, so one row per customer is enough
    select
        customer_key,
        min(opted_out_at) as opted_out_at,
        min(loaded_at) as first_loaded_at,
        min(opted_out_by) as opted_out_by
    from said_no
    group by customer_key
)

select * from final
