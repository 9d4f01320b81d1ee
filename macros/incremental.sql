{#- The rows an incremental staging model takes on: on a later build, only those of the
    deliveries loaded since its last build (ingestion ids grow with every file loaded); on the
    first build or a full refresh, all of them. Masking clears personal data in these tables as
    in the raw ones (see feedback/masking.py). -#}
{% macro loaded_since_last_build() -%}
    {%- if is_incremental() -%}
        ingestion_id > (select coalesce(max(ingestion_id), 0) from {{ this }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- When an incremental mart's last build ran: the latest `built_at` of its rows. A build takes
    on what was delivered, masked or changed after it. NULL on the first build and on a full
    refresh, when every row is built; a table made before the column (its pre-hook adds it) has
    every row built again once. -#}
{% macro last_built_at() -%}
    {%- if is_incremental() -%}
        (
            select
                coalesce(
                    max(built_at),
                    cast('1970-01-01 00:00:00+00' as timestamp with time zone)
                )
            from {{ this }}
        )
    {%- else -%}
        cast(null as timestamp with time zone)
    {%- endif -%}
{%- endmacro %}

{#- The pre-hook of a mart kept by `built_at`: the column added to a table made before it. -#}
{% macro add_built_at() -%}
    {%- if is_incremental() -%}
        alter table {{ this }} add column if not exists built_at timestamp with time zone
    {%- endif -%}
{%- endmacro %}

{#- The pre-hook of stg_contacts__events: `has_valid_email` added to a table made before it, and
    set on the rows it holds. -#}
{% macro add_has_valid_email() -%}
    {%- if is_incremental() -%}
        alter table {{ this }} add column if not exists has_valid_email boolean;
        update {{ this }} set has_valid_email = {{ is_valid_email('email') }}
        where has_valid_email is null
    {%- endif -%}
{%- endmacro %}

{#- The run dates whose masking of `record_kind` was logged after the mart's last build, from
    `maskings` (stg_privacy__maskings as the model imports it): their records are built again.
    None on a first build or a full refresh, when every row is. -#}
{% macro run_dates_masked_since_last_build(maskings, record_kind) -%}
    select {{ maskings }}.run_date
    from {{ maskings }}
    where
        {{ maskings }}.record_kind = '{{ record_kind }}'
        and {{ maskings }}.records_masked > 0
        and {{ maskings }}.masked_at > {{ last_built_at() }}
{%- endmacro %}
