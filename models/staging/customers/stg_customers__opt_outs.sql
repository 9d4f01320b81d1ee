with

opt_outs as (
    select * from {{ ref('base_customers__opt_outs') }}
    where rejection_reason is null
),

final as (
    -- once loaded, an opt-out stops every later invitation, so one row per customer is enough
    select
        customer_id,
        min(opted_out_at) as opted_out_at,
        min(loaded_at) as first_loaded_at
    from opt_outs
    group by customer_id
)

select * from final
