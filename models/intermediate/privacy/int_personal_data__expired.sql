-- What the masking step clears after run date D: every record holding personal data whose
-- reference date is before the cutoff and that is not masked yet. A record without a date of its
-- own (a rejected row, a quarantined file), or dated more than a year after its delivery was
-- loaded (`is_dated_after_delivery`), counts from the run date that loaded it.
-- Opt-outs are kept: they must be honoured. The masking step applies this list to the raw
-- tables, the ledger and the files.
with

contact_rows as (
    select * from {{ ref('base_contacts__events') }}
),

response_rows as (
    select * from {{ ref('base_kcm__responses') }}
),

unreadable_rows as (
    select * from {{ ref('stg_landing__unreadable_rows') }}
),

invitations as (
    select * from {{ ref('stg_ledger__invitations') }}
),

ingestions as (
    select * from {{ ref('stg_landing__ingestions') }}
),

expired_contact_rows as (
    select
        'contact_event' as record_kind,
        contact_rows.ingestion_id,
        contact_rows.line_number,
        cast(null as varchar) as invitation_id,
        case
            when contact_rows.contact_date is null or contact_rows.is_dated_after_delivery
                then ingestions.ingested_for_run_date
            else contact_rows.contact_date
        end as reference_date,
        cast(null as varchar) as redacted_comment,
        cast(null as {{ type_json() }}) as redacted_extra_answers,
        -- kept on the row, as masking empties the customer id: staging still rejects it
        contact_rows.customer_id is null as delivered_without_customer_id
    from contact_rows
    left join ingestions on contact_rows.ingestion_id = ingestions.ingestion_id
    where contact_rows.masked_on is null
),

expired_response_rows as (
    select
        'kcm_response' as record_kind,
        response_rows.ingestion_id,
        response_rows.line_number,
        cast(null as varchar) as invitation_id,
        case
            when response_rows.completed_on is null or response_rows.is_dated_after_delivery
                then ingestions.ingested_for_run_date
            else response_rows.completed_on
        end as reference_date,
        {{ redact_personal_data('response_rows.comment') }} as redacted_comment,
        cast(
            {{ redact_personal_data('cast(response_rows.extra_answers as varchar)') }}
            as {{ type_json() }}
        )
            as redacted_extra_answers,
        cast(null as boolean) as delivered_without_customer_id
    from response_rows
    left join ingestions on response_rows.ingestion_id = ingestions.ingestion_id
    where response_rows.masked_on is null
),

expired_unreadable_rows as (
    select
        'unreadable_row' as record_kind,
        unreadable_rows.ingestion_id,
        unreadable_rows.line_number,
        cast(null as varchar) as invitation_id,
        ingestions.ingested_for_run_date as reference_date,
        cast(null as varchar) as redacted_comment,
        cast(null as {{ type_json() }}) as redacted_extra_answers,
        cast(null as boolean) as delivered_without_customer_id
    from unreadable_rows
    left join ingestions on unreadable_rows.ingestion_id = ingestions.ingestion_id
    where unreadable_rows.masked_on is null
),

expired_invitations as (
    select
        'invitation' as record_kind,
        cast(null as integer) as ingestion_id,
        cast(null as integer) as line_number,
        invitation_id,
        coalesce(sent_on, contact_date) as reference_date,
        cast(null as varchar) as redacted_comment,
        cast(null as {{ type_json() }}) as redacted_extra_answers,
        cast(null as boolean) as delivered_without_customer_id
    from invitations
    where masked_on is null
),

expired_quarantined_files as (
    -- a file kept aside could not be read, so its rows have no date of their own
    select
        'quarantined_file' as record_kind,
        ingestion_id,
        cast(null as integer) as line_number,
        cast(null as varchar) as invitation_id,
        ingested_for_run_date as reference_date,
        cast(null as varchar) as redacted_comment,
        cast(null as {{ type_json() }}) as redacted_extra_answers,
        cast(null as boolean) as delivered_without_customer_id
    from ingestions
    where not is_loaded and stored_path is not null
),

all_records as (
    select * from expired_contact_rows
    union all
    select * from expired_response_rows
    union all
    select * from expired_unreadable_rows
    union all
    select * from expired_invitations
    union all
    select * from expired_quarantined_files
),

final as (
    select
        *,
        {{ masking_cutoff() }} as masking_cutoff
    from all_records
    where reference_date < {{ masking_cutoff() }}
)

select * from final
