{#- Personal data on a record whose reference date is before this cutoff (D minus
    `retention_months` calendar months) is masked. -#}
{% macro masking_cutoff() -%}
    cast({{ run_date() }} - to_months({{ var('retention_months') }}) as date)
{%- endmacro %}

{#- E-mail addresses, phone numbers and IBANs inside free text, replaced by a marker. -#}
{% macro redact_personal_data(text) -%}
    regexp_replace(
        regexp_replace(
            regexp_replace(
                {{ text }},
                '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+',
                '[e-mailadres verwijderd]',
                'g'
            ),
            '\b[A-Za-z]{2}[0-9]{2}(\s?[A-Za-z0-9]{4}){2,7}(\s?[A-Za-z0-9]{1,3})?\b',
            '[IBAN verwijderd]',
            'g'
        ),
        '(\+|\b00)?\d([\s().-]?\d){8,13}\b',
        '[telefoonnummer verwijderd]',
        'g'
    )
{%- endmacro %}
