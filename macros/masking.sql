{#- Personal data on a record whose reference date is before this cutoff (D minus
    `retention_months` calendar months) is masked. -#}
{% macro masking_cutoff() -%}
    cast({{ dbt.dateadd('month', -var('retention_months'), run_date()) }} as date)
{%- endmacro %}

{#- E-mail addresses, phone numbers and IBANs inside free text, replaced by a marker. -#}
{% macro redact_personal_data(text) -%}
    {%- set e_mail -%} '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+' {%- endset -%}
    {%- set iban -%}
        '\b[A-Za-z]{2}[0-9]{2}(\s?[A-Za-z0-9]{4}){2,7}(\s?[A-Za-z0-9]{1,3})?\b'
    {%- endset -%}
    {%- set phone -%} '(\+|\b00)?\d([\s().-]?\d){8,13}\b' {%- endset -%}
    {{ regex_replace_all(
        regex_replace_all(
            regex_replace_all(text, e_mail, "'[e-mailadres verwijderd]'"),
            iban,
            "'[IBAN verwijderd]'"
        ),
        phone,
        "'[telefoonnummer verwijderd]'"
    ) }}
{%- endmacro %}
