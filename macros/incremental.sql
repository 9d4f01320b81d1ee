{#- The rows an incremental staging model takes on: on a later build, only those of the
    deliveries loaded since its last build (ingestion ids grow with every file loaded); on the
    first build or a full refresh, all of them. Masking clears personal data in these tables as
    in the raw ones (see feedback/privacy/masking.py). -#}
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

{#- The pre-hook of an incremental model given a column after tables of it were made: the column
    added to a table made before it, and, with `value` (an expression over the table's other
    columns), set on the rows it holds; without, they keep NULL. -#}
{% macro add_column(column, data_type, value=none) -%}
    {%- if is_incremental() -%}
        alter table {{ this }} add column if not exists {{ column }} {{ data_type }}
        {%- if value is not none %};
        update {{ this }} set {{ column }} = {{ value }} where {{ column }} is null
        {%- endif -%}
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
