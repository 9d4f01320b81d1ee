{#- The landing sources whose rows a value check can reject, each with the base model that
    checks them (its `rejection_reason`). -#}
{% macro value_checked_sources() -%}
    {{ return({
        'contact_events': 'base_contacts__events',
        'kcm_responses': 'base_kcm__responses',
        'opt_outs': 'base_customers__opt_outs',
        'unsubscribes': 'base_customers__unsubscribes',
    }) }}
{%- endmacro %}
