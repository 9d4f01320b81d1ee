{#- A one-way key of a customer id. The ledger keeps it after masking, so that an unsubscribe
    from an e-mail of any age still opts its customer out; opt-outs match contacts by it. -#}
{% macro customer_key(customer_id) -%}
    {{ dbt.hash("'feedback-customer:' || " ~ customer_id) }}
{%- endmacro %}
