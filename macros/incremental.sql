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
