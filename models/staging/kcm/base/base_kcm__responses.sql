-- Every delivered KCM response row, typed, with the reason it is rejected (NULL when valid).
with

source as (
    select * from {{ source('kcm', 'kcm_responses') }}
),

typed as (
    select
        nullif(trim(response_id), '') as response_id,
        nullif(trim(invitation_id), '') as invitation_id,
        nullif(trim(questionnaire_id), '') as questionnaire_id,
        {{ parse_timestamp('completed_at') }} as completed_at,
        {{ amsterdam_date(parse_timestamp('completed_at')) }} as completed_on,
        nullif(trim(completed_at), '') as completed_at_text,
        nullif(trim(grade), '') as grade_text,
        case
            when {{ regex_full_match('trim(grade)', "'[1-9]|10'") }}
                then cast(trim(grade) as integer)
        end as grade,
        comment,
        _extra_columns as extra_answers,
        _ingestion_id as ingestion_id,
        _file_name as file_name,
        _line_number as line_number,
        _loaded_at as loaded_at,
        _masked_on as masked_on,
        {{ row_as_json(
            ['response_id', 'invitation_id', 'questionnaire_id', 'completed_at', 'grade', 'comment'],
            renamed={'extra_columns': '_extra_columns'},
        ) }} as row_as_delivered
    from source
),

dated as (
    select
        *,
        {{ is_dated_after_delivery('completed_at', 'loaded_at') }} as is_dated_after_delivery
    from typed
),

checked as (
    select
        *,
        case
            when response_id is null then 'missing response_id'
            when invitation_id is null then 'missing invitation_id'
            when completed_at_text is null then 'missing completed_at'
            when completed_at is null then 'completed_at is not an ISO 8601 timestamp'
            when is_dated_after_delivery
                then 'completed_at is more than a year after the delivery was loaded'
            when grade_text is null then 'missing grade'
            when grade is null then 'grade is not a whole number from 1 to 10'
        end as rejection_reason
    from dated
)

select * from checked
