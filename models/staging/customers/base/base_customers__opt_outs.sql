-- Every delivered opt-out row with the reason it is rejected (NULL when valid). An opt-out
-- whose timestamp does not parse still counts: rejecting it would e-mail someone who said no.
with

source as (
    select * from {{ source('customers', 'opt_outs') }}
),

typed as (
    select
        nullif(trim(customer_id), '') as customer_id,
        {{ parse_timestamp('opted_out_at') }} as opted_out_at,
        _ingestion_id as ingestion_id,
        _file_name as file_name,
        _line_number as line_number,
        _loaded_at as loaded_at,
        {{ row_as_json(['customer_id', 'opted_out_at']) }} as row_as_delivered
    from source
),

checked as (
    select
        *,
        case when customer_id is null then 'missing customer_id' end as rejection_reason
    from typed
)

select * from checked
