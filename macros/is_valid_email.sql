{#- A syntactically valid e-mail address: local part, @, a domain with a dot and a TLD. -#}
{% macro is_valid_email(email) -%}
    coalesce(regexp_full_match(
        trim({{ email }}),
        '[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}'
    ), false)
{%- endmacro %}
