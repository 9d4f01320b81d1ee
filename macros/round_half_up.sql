{#- The mean of `total` over `n` rounded half up to one decimal, in exact integer arithmetic
    (7.25 gives 7.3, where rounding a binary double can give 7.2). -#}
{% macro mean_rounded_half_up(total, n) -%}
    cast(floor((20 * ({{ total }}) + ({{ n }})) / (2 * ({{ n }}))) / 10 as decimal(3, 1))
{%- endmacro %}
