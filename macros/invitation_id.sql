{#- One invitation per contact at most, so its id derives from the contact: a rerun of the same
    run date finds the same id in the ledger and sends nothing twice. -#}
{% macro invitation_id(contact_event_id) -%}
    'inv-' || left({{ dbt.hash("'feedback-invitation:' || " ~ contact_event_id) }}, 20)
{%- endmacro %}
