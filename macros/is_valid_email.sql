{#- A syntactically valid e-mail address: an ASCII local part, @, a domain with a dot and a TLD.
    The domain may be internationalised (letters of any script); the sender writes it in its
    IDNA form. -#}
{% macro is_valid_email(email) -%}
    {%- set pattern -%}
        '[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+)*@[\p{L}\p{N}]([\p{L}\p{N}-]*[\p{L}\p{N}])?(\.[\p{L}\p{N}]([\p{L}\p{N}-]*[\p{L}\p{N}])?)*\.\p{L}{2,}'
    {%- endset -%}
    coalesce({{ regex_full_match('trim(' ~ email ~ ')', pattern) }}, false)
{%- endmacro %}
